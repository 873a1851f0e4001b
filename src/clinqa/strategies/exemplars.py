"""Where few-shot / CoT exemplars come from, and which ones a question gets.

Default pools (exemplars are never evaluated: any overlap with the evaluated split is removed by the runner):
- medqa, medqa5, medmcqa, and CoT on MMLU: `resources/exemplars/medical_cot.jsonl`, written for clinqa (6 questions with
  explanations; option E dropped for 4-option sets); k = 5 (MMLU CoT: 6, as in the paper)
- answer-only MMLU: that subject's `dev` split (the standard 5-shot exemplars)
- pubmedqa: the official train pool (the 500 PQA-L items outside the test split), k = 3, with the long answer as rationale
kNN pools (Medprompt-style dynamic few-shot, larger so that similarity matters): medqa/medqa5 -> medmcqa dev,
medmcqa -> medqa test, mmlu -> mmlu dev + val, pubmedqa -> pubmedqa train.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from clinqa.data.errors import DataError
from clinqa.data.loaders.common import read_jsonl, validate
from clinqa.data.records import MCQuestion
from clinqa.data.registry import load

SHIPPED = "medical_cot.jsonl"


def read_exemplar_file(path: Path | None, n_options: int) -> list[MCQuestion]:
    """Exemplars from a JSONL file (question, options, answer, explanation); the shipped file when path is None."""
    if path is None:
        path = Path(str(resources.files("clinqa") / "resources" / "exemplars" / SHIPPED))
    out = []
    for line, obj in read_jsonl(Path(path)):
        opts = obj.get("options")
        if not isinstance(opts, dict):
            raise DataError(path, "options must be an object of letter -> text", line=line, field="options")
        letters = sorted(opts)[:n_options] if len(opts) > n_options else sorted(opts)
        rec = MCQuestion(id=str(obj.get("id", f"exemplar-{line}")), question=str(obj.get("question") or ""),
                         options={k: opts[k] for k in letters}, answer=str(obj.get("answer") or ""),
                         dataset="exemplars", split="fixed", explanation=obj.get("explanation"))
        out.append(validate(rec, path, line))
    return out


def default_k(dataset: str, reasoning: bool) -> int:
    if dataset.startswith("pubmedqa"):
        return 3
    if dataset.startswith("mmlu") and reasoning:
        return 6
    return 5


def default_pool(dataset: str, n_options: int, reasoning: bool, root=None) -> list[MCQuestion]:
    if dataset.startswith("pubmedqa"):
        return load("pubmedqa", "train", root)
    if dataset.startswith("mmlu") and not reasoning:
        return load(dataset, "dev", root)
    return read_exemplar_file(None, n_options)


def knn_pool(dataset: str, root=None) -> list[MCQuestion]:
    if dataset in ("medqa", "medqa5"):
        return load("medmcqa", "dev", root)
    if dataset == "medmcqa":
        return load("medqa", "test", root)
    if dataset.startswith("mmlu"):
        return load(dataset, "dev", root) + load(dataset, "val", root)
    if dataset.startswith("pubmedqa"):
        return load("pubmedqa", "train", root)
    raise DataError(dataset, "no kNN exemplar pool is defined for this dataset; pass --exemplars FILE", field="dataset")


class FixedSelector:
    """The first k exemplars of the pool; for MMLU, those of the question's own subject when the pool has them."""

    def __init__(self, pool: list[MCQuestion]):
        self.pool = pool

    def select(self, q: MCQuestion, k: int) -> list[MCQuestion]:
        same = [e for e in self.pool if e.subject and e.subject == q.subject]
        return (same or self.pool)[:k]


def dumps(exemplars: list[MCQuestion]) -> str:
    return json.dumps([e.id for e in exemplars])
