"""Typed records for the two kinds of MultiMedQA question, validated on construction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class MCQuestion:
    """A multiple-choice question. `options` maps letters (A, B, ...) to option text; `answer` is a letter."""

    id: str
    question: str
    options: dict[str, str]
    answer: str
    dataset: str
    split: str
    context: str | None = None          # PubMedQA abstract
    explanation: str | None = None      # MedMCQA `exp`, PubMedQA long answer: a rationale for CoT exemplars
    subject: str | None = None          # MMLU subject, MedMCQA subject
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def problems(self) -> list[tuple[str, str]]:
        """(field, problem) pairs; empty when the record is valid."""
        out = []
        if not self.question or not self.question.strip():
            out.append(("question", "empty question"))
        if len(self.options) < 2:
            out.append(("options", f"need at least 2 options, got {len(self.options)}"))
        for letter, text in self.options.items():
            if text is None or not str(text).strip():
                out.append((f"options.{letter}", "empty option text"))
        if not self.answer:
            out.append(("answer", "missing answer"))
        elif self.answer not in self.options:
            out.append(("answer", f"answer {self.answer!r} is not among options {sorted(self.options)}"))
        return out

    @property
    def letters(self) -> list[str]:
        return list(self.options)


@dataclass(frozen=True)
class LongFormQuestion:
    """A consumer question answered in free text, with optional reference answers."""

    id: str
    question: str
    dataset: str
    split: str = "test"
    references: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def problems(self) -> list[tuple[str, str]]:
        if not self.question or not self.question.strip():
            return [("question", "empty question")]
        return []
