"""Load a MultiMedQA dataset from the Hugging Face hub (`datasets.load_dataset`), for users with network.

Rows in the common hub layouts are converted to the same records the local loaders produce:
MedQA-style (question, options{letter: text}, answer_idx), MedMCQA-style (opa..opd, cop 0-based on the hub),
MMLU-style (question, choices[list], answer[int]), PubMedQA pqa_labeled (question, context, final_decision),
and long-form (question[, answer]). Offline tests pass rows directly to `rows_to_records`.
"""

from __future__ import annotations

from typing import Iterable

from clinqa.data.errors import DataError
from clinqa.data.loaders.common import validate
from clinqa.data.records import LongFormQuestion, MCQuestion

PUBMEDQA = {"yes": "A", "no": "B", "maybe": "C"}


def row_to_record(row: dict, i: int, dataset: str, split: str, source: str):
    rid = str(row.get("id") or row.get("pubid") or f"{dataset}-{split}-{i}")
    q = row.get("question")
    if q is None:
        raise DataError(source, "missing field", record=rid, field="question")
    if isinstance(row.get("options"), dict):
        rec = MCQuestion(rid, q, {k: str(v) for k, v in row["options"].items()}, str(row.get("answer_idx", "")),
                         dataset, split)
    elif "opa" in row:
        cop = row.get("cop")
        if cop is None:
            raise DataError(source, "missing answer", record=rid, field="cop")
        rec = MCQuestion(rid, q, {L: str(row[k]) for L, k in zip("ABCD", ("opa", "opb", "opc", "opd"))},
                         "ABCD"[int(cop)] if 0 <= int(cop) < 4 else str(cop), dataset, split,
                         explanation=row.get("exp") or None, subject=row.get("subject_name"))
    elif isinstance(row.get("choices"), list):
        ans = row.get("answer")
        letters = [chr(65 + j) for j in range(len(row["choices"]))]
        rec = MCQuestion(rid, q, dict(zip(letters, map(str, row["choices"]))),
                         letters[ans] if isinstance(ans, int) and 0 <= ans < len(letters) else str(ans), dataset, split,
                         subject=row.get("subject"))
    elif "final_decision" in row:
        ctx = row.get("context")
        ctx = "\n".join(ctx["contexts"]) if isinstance(ctx, dict) else str(ctx or "")
        rec = MCQuestion(rid, q, {"A": "yes", "B": "no", "C": "maybe"}, PUBMEDQA.get(row["final_decision"], ""),
                         dataset, split, context=ctx, explanation=row.get("long_answer"))
    else:
        refs = tuple(str(row[k]) for k in ("answer", "reference", "Answer") if row.get(k))
        rec = LongFormQuestion(rid, str(q), dataset, split, references=refs)
    return validate(rec, source, None)


def rows_to_records(rows: Iterable[dict], dataset: str, split: str, source: str):
    return [row_to_record(dict(r), i, dataset, split, source) for i, r in enumerate(rows, start=1)]


def load_hub(hub_id: str, split: str, dataset: str | None = None, config: str | None = None):
    """`hub_id` like 'GBaker/MedQA-USMLE-4-options'; needs `pip install datasets` and network."""
    try:
        from datasets import load_dataset
    except ImportError as e:
        raise DataError(f"hf:{hub_id}", "loading from the hub needs `pip install clinqa[hub]`") from e
    ds = load_dataset(hub_id, config, split=split)
    return rows_to_records(ds, dataset or hub_id.split("/")[-1].lower(), split, f"hf:{hub_id}")
