"""Where few-shot / CoT exemplars come from, and which ones a question gets.

Each task names its pools (answer-only, reasoning, kNN) in its own file; a task that names none gets clinqa's shipped
exemplars, `resources/exemplars/medical_cot.jsonl` (6 USMLE-style questions with explanations written for clinqa;
option E dropped for 4-option sets). `--exemplars FILE.jsonl` replaces the pool. Exemplars are never evaluated: any
overlap with the evaluated split is removed by the runner.
"""

from __future__ import annotations

from clinqa.data.errors import DataError
from clinqa.data.exemplars import read_exemplar_file
from clinqa.data.records import MCQuestion
from clinqa.data.registry import data_root
from clinqa.tasks.base import Task

def default_pool(task: Task, n_options: int, reasoning: bool, root=None) -> list[MCQuestion]:
    """The task's exemplar pool for answer-only or reasoning prompts (the shipped exemplars when it names none)."""
    pool = task.reasoning_pool if reasoning else task.answer_pool
    return pool(data_root(root)) if pool else read_exemplar_file(None, n_options)


def knn_pool(task: Task, root=None) -> list[MCQuestion]:
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

