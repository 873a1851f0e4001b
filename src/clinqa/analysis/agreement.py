"""Agreement between the automatic rater and human ratings, per axis: percent agreement and Cohen's kappa
(`clinqa.stats.cohen_kappa`), so a team can see whether to trust the grader before spending physician time.

Human ratings are the ratings long table (`clinqa.analysis.table`: CSV, JSONL or Parquet; `item` is the answer id).
Each human rating of an (answer, axis) is paired with the grader's rating of the same answer and axis.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from clinqa.analysis.table import Rating
from clinqa.stats import cohen_kappa, label_table


@dataclass
class AxisAgreement:
    axis: str
    n: int
    percent: float
    kappa: float


def agreement(auto_ratings: list[dict], human: list[Rating]) -> list[AxisAgreement]:
    auto = {(r["answer_id"], axis): v for r in auto_ratings if r["ok"] for axis, v in r["values"].items()}
    pairs = defaultdict(lambda: ([], []))
    for h in human:
        if h.kind != "pairwise" and (h.item, h.axis) in auto:
            pairs[h.axis][0].append(h.value)
            pairs[h.axis][1].append(auto[(h.item, h.axis)])
    return [AxisAgreement(axis, len(hs), sum(x == y for x, y in zip(hs, au)) / len(hs), cohen_kappa(label_table(hs, au)))
            for axis, (hs, au) in sorted(pairs.items())]
