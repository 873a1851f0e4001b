"""HealthSearchQA JSON Lines: `{"question": ...}` per line, no reference answers."""

from __future__ import annotations

from pathlib import Path

from clinqa.data.loaders.common import need, read_jsonl, validate
from clinqa.data.records import LongFormQuestion


def load_healthsearchqa(path: Path, dataset: str = "healthsearchqa", split: str = "test") -> list[LongFormQuestion]:
    out = []
    for line, obj in read_jsonl(path):
        rid = f"{dataset}-{line}"
        rec = LongFormQuestion(id=rid, question=str(need(obj, "question", path, line, rid)).strip(),
                               dataset=dataset, split=split)
        out.append(validate(rec, path, line))
    return out
