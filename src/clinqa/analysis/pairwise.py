"""Pairwise rankings: per axis, the share of ratings choosing each source and ties, with binomial (Clopper-Pearson)
intervals as in the paper's Fig. 5, and an exact two-sided binomial test of preference on the non-tied ratings.
Sides were randomised per rater and item; rows are un-blinded here ("Answer 1" means the row's `source`), and the
share choosing "Answer 1" is reported as a check on position bias."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from scipy import stats

from clinqa.analysis.table import Rating, unblind
from clinqa.data.rubric import Axis
from clinqa.stats import Interval, clopper_pearson

ANSWER_1, ANSWER_2, TIE = "Answer 1", "Answer 2", "Tie"


@dataclass
class Preference:
    axis: str
    source_a: str
    source_b: str
    n: int
    chose_a: Interval
    chose_b: Interval
    tie: Interval
    p_value: float                 # exact binomial test, chose A vs chose B among non-ties
    answer_1_share: float          # position-bias check: share of non-tied ratings choosing whichever answer was shown first


def preferences(ratings: list[Rating], axes: tuple[Axis, ...]) -> list[Preference]:
    rows = [r for r in ratings if r.kind == "pairwise"]
    out = []
    by_pair: dict[tuple[str, str], list[Rating]] = defaultdict(list)
    for r in rows:
        if r.value not in (ANSWER_1, ANSWER_2, TIE):
            raise ValueError(f"pairwise rating by {r.rater} of {r.item}: value {r.value!r} is not "
                             f"{ANSWER_1!r}, {ANSWER_2!r} or {TIE!r}")
        by_pair[tuple(sorted((r.source, r.other_source)))].append(r)
    for (sa, sb), rs in sorted(by_pair.items()):
        for axis in axes:
            a = b = t = first = 0
            for r in rs:
                if r.axis != axis.key:
                    continue
                if r.value == TIE:
                    t += 1
                    continue
                chosen = unblind(r)[2]
                first += r.value == ANSWER_1
                a += chosen == sa
                b += chosen == sb
            n = a + b + t
            if n == 0:
                continue
            p = float(stats.binomtest(a, a + b, 0.5).pvalue) if a + b else 1.0
            out.append(Preference(axis.key, sa, sb, n, clopper_pearson(a, n), clopper_pearson(b, n),
                                  clopper_pearson(t, n), p, first / (a + b) if a + b else float("nan")))
    return out
