"""HealthBench's data (Arora et al. 2025) in the schema of openai/simple-evals: one JSON object per line with
prompt_id, prompt (the conversation: a list of {role, content}), rubrics (criterion, points, tags), example_tags and
ideal_completions_data. Read from a local file or, where there is network, a URL; clinqa ships a small sample.
Grading is in `clinqa.eval.healthbench`."""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from clinqa.data.errors import DataError
from clinqa.data.loaders.common import parse_jsonl

URL = "https://openaipublic.blob.core.windows.net/simple-evals/healthbench/2025-05-07-06-14-12_oss_eval.jsonl"
SAMPLE = Path(str(resources.files("clinqa") / "resources" / "healthbench" / "sample_eval.jsonl"))


@dataclass(frozen=True)
class RubricItem:
    criterion: str
    points: float
    tags: tuple[str, ...]

    def __str__(self) -> str:          # as simple-evals shows it to the grader
        return f"[{self.points}] {self.criterion}"


@dataclass
class Example:
    prompt_id: str
    prompt: list[dict]
    rubrics: list[RubricItem]
    example_tags: list[str]
    ideal_completion: str | None = None

    @property
    def id(self) -> str:
        """The record id every task's records carry (HealthBench's prompt_id)."""
        return self.prompt_id


def read_jsonl(path: str | Path) -> list[tuple[int, dict]]:
    """(line number, object) for each line of a local file or a URL; DataError on malformed JSON."""
    if str(path).startswith(("http://", "https://")):
        with urllib.request.urlopen(str(path), timeout=60) as r:      # noqa: S310 (a fixed public data URL)
            return list(parse_jsonl(r.read().splitlines(keepends=True), path))
    if not Path(path).exists():
        raise DataError(path, "no such file")
    with open(path, "rb") as fh:
        return list(parse_jsonl(fh, path))


def _need(row: dict, key: str, kind, path, line):
    if key not in row:
        raise DataError(path, "missing field", line=line, field=key)
    if not isinstance(row[key], kind):
        raise DataError(path, f"expected {kind.__name__}, got {type(row[key]).__name__}", line=line, field=key)
    return row[key]


def load_examples(path: str | Path = SAMPLE) -> list[Example]:
    out = []
    for i, row in read_jsonl(path):
        prompt = _need(row, "prompt", list, path, i)
        for m in prompt:
            if not isinstance(m, dict) or "role" not in m or "content" not in m:
                raise DataError(path, "each message needs role and content", line=i, field="prompt")
        items = []
        for j, r in enumerate(_need(row, "rubrics", list, path, i)):
            if not isinstance(r, dict) or not {"criterion", "points", "tags"} <= set(r):
                raise DataError(path, "needs criterion, points and tags", line=i, field=f"rubrics[{j}]")
            items.append(RubricItem(str(r["criterion"]), float(r["points"]), tuple(r["tags"])))
        ideal = (row.get("ideal_completions_data") or {}).get("ideal_completion")
        out.append(Example(str(_need(row, "prompt_id", str, path, i)), prompt, items,
                           list(row.get("example_tags") or []), ideal))
    return out
