"""Logs for other tools, both ways: export a `clinqa bench` run to inspect_ai's eval log (`inspect_log.py`) and to
lm-evaluation-harness's results/samples files (`lmeval_log.py`); import long-form answers from either as an answer
source for rating studies. This module picks the format of a file to import; what both formats share (reading a
run, the answer text of a finished sample, saving imported answers with provenance) is in `common.py`.
"""

from __future__ import annotations

from pathlib import Path

from clinqa.data.errors import DataError
from clinqa.logs.common import save_imported


def detect_format(path: str | Path) -> str:
    """"inspect" for .eval files and inspect .json logs, "lm-eval" for samples_*.jsonl, "table" for other CSV/JSONL."""
    p = Path(path)
    if p.suffix == ".eval":
        return "inspect"
    if p.suffix == ".jsonl" and p.name.startswith("samples_"):
        return "lm-eval"
    if p.suffix == ".json":
        import json
        try:
            head = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise DataError(p, f"not a JSON file: {e}") from None
        if isinstance(head, dict) and "eval" in head and "version" in head:
            return "inspect"
        raise DataError(p, "a .json file that is not an inspect eval log; give answers as .csv/.jsonl")
    return "table"


def import_answers_from(path: str | Path, source: str, run_dir: str | Path, fmt: str = "auto") -> tuple[int, str]:
    """Import answers from an inspect log, an lm-eval samples file or a CSV/JSONL table; returns (count, format)."""
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt == "inspect":
        from clinqa.logs.inspect_log import answers_from_inspect
        return save_imported(answers_from_inspect(path), source, run_dir), fmt
    if fmt == "lm-eval":
        from clinqa.logs.lmeval_log import answers_from_lmeval
        return save_imported(answers_from_lmeval(path), source, run_dir), fmt
    if fmt == "table":
        from clinqa.longform.answer import import_answers
        return import_answers(path, source, run_dir), fmt
    raise DataError(path, f"unknown answers format {fmt!r}; one of auto, inspect, lm-eval, table")
