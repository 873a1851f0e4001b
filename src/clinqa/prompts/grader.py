"""The automatic rater's prompt (`clinqa autorate`, the jury, the judge card): the study's rubric axes, each with its
allowed values, and a request for exactly one JSON object."""

from __future__ import annotations

from typing import Sequence

INTRO = {
    "physician": "You are an experienced physician grading an answer to a consumer medical question.",
    "lay": "You are a member of the public judging how useful an answer to a health question is.",
    "pairwise": "You are an experienced physician comparing two answers to the same consumer medical question.",
}


def grader_prompt(kind: str, axes: Sequence, question: str, answers: Sequence[str]) -> str:
    shown = (f"Answer:\n{answers[0]}" if len(answers) == 1 else
             f"Answer 1:\n{answers[0]}\n\nAnswer 2:\n{answers[1]}")
    lines = [f'- "{a.key}": {a.question} Allowed values: ' + " | ".join(f'"{v}"' for v in a.scale) for a in axes]
    keys = ", ".join(f'"{a.key}": "..."' for a in axes)
    return (f"{INTRO[kind]} For each axis below choose exactly one of its allowed values, copied exactly.\n\n"
            f"Question:\n{question}\n\n{shown}\n\nAxes:\n" + "\n".join(lines) +
            f"\n\nReply with only one JSON object with exactly these keys: {{{keys}}}\n")
