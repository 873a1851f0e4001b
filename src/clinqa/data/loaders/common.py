"""Helpers shared by the loaders: line-numbered JSON Lines reading and record validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Iterator

from clinqa.data.errors import DataError


def require_file(path: Path) -> Path:
    if not path.is_file():
        raise DataError(path, "file not found (set CLINQA_DATA or --data-dir to the data root)")
    return path


def read_jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    """Yield (line number, object) for each non-blank line; malformed JSON names the line."""
    require_file(path)
    with open(path, "rb") as fh:
        yield from parse_jsonl(fh, path)


def parse_jsonl(lines: Iterable[bytes], path: str | Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line of JSON Lines read from `path` (a file or a URL)."""
    for lineno, data in enumerate(lines, start=1):
        raw = decode_line(data, path, lineno)
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            raise DataError(path, f"malformed JSON ({e.msg} at column {e.colno})", line=lineno) from None
        if not isinstance(obj, dict):
            raise DataError(path, f"expected a JSON object, got {type(obj).__name__}", line=lineno)
        yield lineno, obj


def decode_line(data: bytes, path: Path, line: int) -> str:
    """UTF-8 text of one line, or a DataError naming the file, line and byte offset."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(path, f"not UTF-8 (byte 0x{data[e.start]:02x} at column {e.start + 1}); re-save the file as "
                        "UTF-8", line=line) from None


def read_text(path: Path) -> str:
    """A whole file as UTF-8 text; a non-UTF-8 byte is reported with its line."""
    data = require_file(path).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise DataError(path, f"not UTF-8 (byte 0x{data[e.start]:02x}); re-save the file as UTF-8", line=line) from None


def need(obj: dict, key: str, path: Path, line: int | None = None, record: str | None = None):
    """obj[key], or a DataError naming the missing field."""
    if key not in obj or obj[key] is None:
        raise DataError(path, "missing field", line=line, record=record, field=key)
    return obj[key]


def validate(rec, path: Path, line: int | None = None):
    """Raise DataError on the first problem a record reports about itself."""
    problems = rec.problems()
    if problems:
        field, problem = problems[0]
        raise DataError(path, problem, line=line, record=rec.id, field=field)
    return rec
