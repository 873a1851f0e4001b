"""MedMCQA JSON Lines (despite the .json name): options opa..opd, `cop` is the 1-based correct option."""

from __future__ import annotations

from pathlib import Path

from clinqa.data.errors import DataError
from clinqa.data.loaders.common import need, read_jsonl, validate
from clinqa.data.records import MCQuestion

LETTERS = "ABCD"


def load_medmcqa(path: Path, dataset: str = "medmcqa", split: str = "dev") -> list[MCQuestion]:
    out = []
    for line, obj in read_jsonl(path):
        rid = str(obj.get("id") or f"{dataset}-{split}-{line}")
        options = {L: str(need(obj, key, path, line, rid)) for L, key in zip(LETTERS, ("opa", "opb", "opc", "opd"))}
        cop = obj.get("cop")
        if cop is None or cop == "":
            raise DataError(path, "missing answer", line=line, record=rid, field="cop")
        try:
            idx = int(cop)
        except (TypeError, ValueError):
            raise DataError(path, f"cop must be 1-4, got {cop!r}", line=line, record=rid, field="cop") from None
        if not 1 <= idx <= 4:
            raise DataError(path, f"answer cop={idx} is not among options 1-4", line=line, record=rid, field="cop")
        rec = MCQuestion(
            id=rid, question=str(need(obj, "question", path, line, rid)), options=options, answer=LETTERS[idx - 1],
            dataset=dataset, split=split, explanation=(obj.get("exp") or None), subject=obj.get("subject_name"),
            extra={"topic": obj.get("topic_name"), "choice_type": obj.get("choice_type")},
        )
        out.append(validate(rec, path, line))
    return out
