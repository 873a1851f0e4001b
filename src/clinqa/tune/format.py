"""Turning records into prompt/completion training examples (TRL's prompt-completion format, loss on the completion).

Multiple choice: the question with its options (the same layout `clinqa bench` prompts with) -> an optional rationale
("Explanation: ...", e.g. MedMCQA `exp`) and "Answer: (X)". Long-form: the paper's long-form prompt for that dataset ->
the reference answer.
"""

from __future__ import annotations

from clinqa import prompts
from clinqa.data.records import LongFormQuestion, MCQuestion


def to_example(r) -> dict:
    if isinstance(r, MCQuestion):
        rationale = f" {prompts.COT_LEAD[len('Explanation: '):]} {r.explanation.strip()}\n" if r.explanation else " "
        completion = (f"Explanation:{rationale}" if r.explanation else "") + f"{prompts.ANSWER_LEAD} ({r.answer})"
        return {"prompt": prompts.format_question(r) + "\n", "completion": completion}
    if isinstance(r, LongFormQuestion):
        return {"prompt": prompts.longform_prompt(r.question, r.dataset), "completion": " " + r.references[0]}
    raise TypeError(f"cannot train on {type(r).__name__}")
