"""MedQA (USMLE) JSON Lines: 4-option (`phrases_no_exclude_test.jsonl`) and 5-option (`US_5options_test.jsonl`)."""

from __future__ import annotations

from pathlib import Path

from clinqa.data.loaders.common import need, read_jsonl, validate
from clinqa.data.records import MCQuestion


def load_medqa(path: Path, dataset: str = "medqa", split: str = "test") -> list[MCQuestion]:
    out = []
    for line, obj in read_jsonl(path):
        rid = f"{dataset}-{split}-{line}"
        options = need(obj, "options", path, line, rid)
        if not isinstance(options, dict):
            from clinqa.data.errors import DataError
            raise DataError(path, "options must be an object of letter -> text", line=line, record=rid, field="options")
        rec = MCQuestion(
            id=rid, question=str(need(obj, "question", path, line, rid)), options={k: str(v) for k, v in options.items()},
            answer=str(need(obj, "answer_idx", path, line, rid)).strip(), dataset=dataset, split=split,
            extra={"meta_info": obj.get("meta_info"), "answer_text": obj.get("answer")},
        )
        out.append(validate(rec, path, line))
    return out
