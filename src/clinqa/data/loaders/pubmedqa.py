"""PubMedQA PQA-L: `ori_pqal.json` (1000 labelled) split by `test_ground_truth.json` (the standard 500-item test)."""

from __future__ import annotations

import json
from pathlib import Path

from clinqa.data.errors import DataError
from clinqa.data.loaders.common import need, read_text, validate
from clinqa.data.records import MCQuestion

LABELS = {"yes": "A", "no": "B", "maybe": "C"}
OPTIONS = {"A": "yes", "B": "no", "C": "maybe"}


def _read_json(path: Path) -> dict:
    try:
        obj = json.loads(read_text(path))
    except json.JSONDecodeError as e:
        raise DataError(path, f"malformed JSON ({e.msg})", line=e.lineno) from None
    if not isinstance(obj, dict):
        raise DataError(path, "expected a JSON object keyed by PMID")
    return obj


def load_pubmedqa(folder: Path, split: str = "test", dataset: str = "pubmedqa") -> list[MCQuestion]:
    """split: 'test' (500 PMIDs of test_ground_truth.json) or 'train' (the other 500, the official train/dev pool)."""
    pqal_path, gt_path = folder / "ori_pqal.json", folder / "test_ground_truth.json"
    pqal, truth = _read_json(pqal_path), _read_json(gt_path)
    for pmid in truth:
        if pmid not in pqal:
            raise DataError(gt_path, "PMID is not a key of ori_pqal.json", record=pmid)
    if split == "test":
        pmids = list(truth)
    elif split == "train":
        pmids = [p for p in pqal if p not in truth]
    else:
        raise DataError(folder, f"unknown PubMedQA split {split!r} (test, train)", field="split")
    out = []
    for pmid in pmids:
        obj = pqal[pmid]
        label = truth.get(pmid, obj.get("final_decision"))
        if label not in LABELS:
            raise DataError(gt_path if pmid in truth else pqal_path, f"label {label!r} is not yes/no/maybe",
                            record=pmid, field="final_decision")
        contexts = need(obj, "CONTEXTS", pqal_path, record=pmid)
        rec = MCQuestion(
            id=pmid, question=str(need(obj, "QUESTION", pqal_path, record=pmid)), options=dict(OPTIONS),
            answer=LABELS[label], dataset=dataset, split=split, context="\n".join(contexts),
            explanation=obj.get("LONG_ANSWER"), extra={"year": obj.get("YEAR")},
        )
        out.append(validate(rec, pqal_path))
    return out
