"""Where few-shot / CoT exemplars come from, and which ones a question gets.

Each task names its pools (answer-only, reasoning, kNN) in its own file; a task that names none gets clinqa's shipped
exemplars, `resources/exemplars/medical_cot.jsonl` (6 USMLE-style questions with explanations written for clinqa;
option E dropped for 4-option sets). `--exemplars FILE.jsonl` replaces the pool. Exemplars are never evaluated: any
overlap with the evaluated split is removed by the runner.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from clinqa.data.errors import DataError
from clinqa.data.loaders.common import read_jsonl, validate
from clinqa.data.records import MCQuestion
from clinqa.tasks.base import Task

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


def default_pool(task: Task, n_options: int, reasoning: bool, root=None) -> list[MCQuestion]:
    """The task's exemplar pool for answer-only or reasoning prompts (the shipped exemplars when it names none)."""
    from clinqa.data.registry import data_root
    pool = task.reasoning_pool if reasoning else task.answer_pool
    return pool(data_root(root)) if pool else read_exemplar_file(None, n_options)


def knn_pool(task: Task, root=None) -> list[MCQuestion]:
    from clinqa.data.registry import data_root
    if task.knn_pool is None:
        raise DataError(task.name, "no kNN exemplar pool is defined for this task; pass --exemplars FILE", field="task")
    return task.knn_pool(data_root(root))


class FixedSelector:
    """The first k exemplars of the pool; for MMLU, those of the question's own subject when the pool has them."""

    def __init__(self, pool: list[MCQuestion]):
        self.pool = pool

    def select(self, q: MCQuestion, k: int) -> list[MCQuestion]:
        same = [e for e in self.pool if e.subject and e.subject == q.subject]
        return (same or self.pool)[:k]

