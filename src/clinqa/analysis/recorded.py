"""Recorded verdicts as a judge source: a judge's verdicts that someone else recorded (GPT-4's in the OLAPH expert
ratings) become judge ratings (rater "recorded:<name>") beside the human ratings of the same items, so the judge card
(`clinqa.analysis.judge`, `clinqa.analysis.rater_card`) and the PPI estimates need no model run.

`pairwise_study` reads an OLAPH-format file (`clinqa.data.loaders.olaph`) into the ratings long table every analysis
reads: one pairwise Rating per (question, rater, axis) that parsed, answer A (GPT-4) shown as "Answer 1" and the
physician's answer as "Answer 2" (this data never swapped sides).
"""

from __future__ import annotations

from pathlib import Path

from clinqa.analysis.table import Rating
from clinqa.data.loaders.olaph import (AXES, EXPERTS, JUDGE_FIELD, JUDGE_RATER, SOURCE_A, SOURCE_B, VALUES,
                                       PairwiseItem, ParseProblem, read_pairwise_ratings)

RECORDED_PREFIX = "recorded:"


def rater_name(fld: str) -> str:
    """medical_expert_2 -> expert_2; gpt4-evaluation -> recorded:gpt4."""
    return JUDGE_RATER if fld == JUDGE_FIELD else fld.replace("medical_", "")


def answer_id(item: PairwiseItem, source: str) -> str:
    return f"{item.qid}:{source}"


def pair_id(item: PairwiseItem) -> str:
    """The pair's item id in the long table (the two answer ids, as the rating app exports it)."""
    return f"{answer_id(item, SOURCE_A)}|{answer_id(item, SOURCE_B)}"


def as_ratings(items: list[PairwiseItem], study: str = "olaph") -> list[Rating]:
    out = []
    for it in items:
        for fld in EXPERTS + (JUDGE_FIELD,):
            for (_, axis), v in zip(AXES, it.verdicts.get(fld, [])):
                if v is not None:
                    out.append(Rating("pairwise", pair_id(it), it.qid, SOURCE_A, rater_name(fld), axis, VALUES[v],
                                      SOURCE_B, study))
    return out


def pairwise_study(path: str | Path) -> tuple[list[Rating], list[ParseProblem], list[PairwiseItem]]:
    """(ratings long table with the recorded judge, every rating line that did not parse, the items with texts)."""
    items, problems = read_pairwise_ratings(path)
    return as_ratings(items, Path(path).stem), problems, items
