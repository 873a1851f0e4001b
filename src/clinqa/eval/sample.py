"""What the eval core passes around for one item of a task: the `Sample` a solver answers and the `Score` a scorer
gives it.

A `Sample` is an id, an input (a multiple-choice question, or a conversation as chat messages), a target (the gold
letter, reference answers, or a rubric) and metadata. `as_sample` turns any record a task's loader returns into one,
so loaders keep their own typed records (`data.records`, `data.loaders.healthbench`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clinqa.data.loaders.healthbench import Example
from clinqa.data.records import LongFormQuestion, MCQuestion


@dataclass
class Sample:
    id: str
    input: MCQuestion | list[dict]      # a multiple-choice question, or chat messages [{"role", "content"}, ...]
    target: Any = None                  # gold letter, reference answers, rubric items
    metadata: dict = field(default_factory=dict)

    @property
    def messages(self) -> list[dict]:
        """The input as a conversation (a multiple-choice question becomes one user turn of its text)."""
        if isinstance(self.input, MCQuestion):
            return [{"role": "user", "content": self.input.question}]
        return self.input

    @property
    def text(self) -> str:
        """The question itself: the last user turn."""
        return next(m["content"] for m in reversed(self.messages) if m["role"] == "user")


@dataclass
class Score:
    value: float | bool | None          # None: could not be scored (e.g. the grader's reply never parsed)
    answer: str | None = None           # what was extracted from the output and scored
    explanation: str = ""
    metadata: dict = field(default_factory=dict)


def as_sample(record: Any) -> Sample:
    """A task record (`MCQuestion`, `LongFormQuestion`, HealthBench `Example`, or a `Sample` already) as a Sample."""
    if isinstance(record, Sample):
        return record
    if isinstance(record, MCQuestion):
        return Sample(record.id, record, record.answer, {"dataset": record.dataset, "subject": record.subject})
    if isinstance(record, LongFormQuestion):
        return Sample(record.id, [{"role": "user", "content": record.question}], list(record.references),
                      {"dataset": record.dataset, **record.extra})
    if isinstance(record, Example):
        return Sample(record.prompt_id, record.prompt, record.rubrics,
                      {"dataset": "healthbench", "example_tags": record.example_tags,
                       "ideal_completion": record.ideal_completion})
    raise TypeError(f"cannot evaluate a record of type {type(record).__name__}: return MCQuestion, LongFormQuestion, "
                    "HealthBench Example or clinqa.eval.Sample records from the task's loader")
