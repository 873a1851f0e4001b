"""The judge card against each rater: per axis, a judge's agreement with every human rater on their own, pooled over
the raters, and the raters' leave-one-rater-out ceiling (each rater against the others on the same items), with
item-clustered bootstrap 95% intervals, the judge's tie and first-position behaviour beside the raters', and a plain
verdict from a paired bootstrap of (judge κ - ceiling κ) that resamples the same items for both:
"below the ceiling" (the whole interval under 0), "above the ceiling" (over 0) or "within the ceiling".

Pairs are (reference = a human's value, compared = the judge's or another human's value) on one item, as in
`clinqa.analysis.judge` (whose confusion, κ, balanced F1 and bootstrap helpers this reuses); pairwise values are
un-blinded to the chosen source or Tie.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from clinqa.analysis.judge import (N_BOOT, _confusions, _key, _labels, balanced_f1_from, confusion_interval, kappa_from,
                                   ordinal, split_judge)
from clinqa.analysis.table import Rating
from clinqa.data.rubric import Axis
from clinqa.stats import Interval

FIRST, TIE = "Answer 1", "Tie"


@dataclass
class RaterRow:
    rater: str
    n_items: int
    kappa: Interval              # judge vs this rater
    ceiling_kappa: Interval      # the other raters vs this rater


@dataclass
class AxisCard:
    axis: str
    judge: str
    n_items: int                 # items with human ratings
    n_judged: int                # of which the judge rated
    kappa: Interval              # judge vs every rater, pooled
    f1: Interval
    ceiling_kappa: Interval      # every rater vs every other rater, pooled
    ceiling_f1: Interval
    difference: Interval         # judge κ - ceiling κ, paired bootstrap over items
    verdict: str
    judge_tie: float             # share of the judge's verdicts that are Tie
    human_tie: float
    judge_first: float           # share of non-tie verdicts choosing the answer shown first
    human_first: float
    raters: list[RaterRow] = field(default_factory=list)


def paired_difference(conf_a: np.ndarray, conf_b: np.ndarray, stat, n_boot: int = N_BOOT, seed: int = 0,
                      level: float = 0.95) -> Interval:
    """stat(a) - stat(b) with a percentile interval, both resampled with the same item weights (rows aligned)."""
    est = float(stat(conf_a.sum(0)) - stat(conf_b.sum(0)))
    n = conf_a.shape[0]
    w = np.random.default_rng(seed).multinomial(n, np.full(n, 1 / n), size=n_boot).astype(float)
    d = stat(np.einsum("bi,ikl->bkl", w, conf_a)) - stat(np.einsum("bi,ikl->bkl", w, conf_b))
    d = d[~np.isnan(d)]
    if d.size == 0:
        return Interval(est, float("nan"), float("nan"))
    a = (1 - level) / 2
    return Interval(est, float(np.quantile(d, a)), float(np.quantile(d, 1 - a)))


def verdict(diff: Interval) -> str:
    if diff.high < 0:
        return "below the ceiling"
    if diff.low > 0:
        return "above the ceiling"
    return "within the ceiling" if diff.low == diff.low else "too few items"


def _shares(values: list[str]) -> tuple[float, float]:
    """(tie share, first-position share of the non-ties) of raw values as shown."""
    ties = sum(v == TIE for v in values)
    rest = len(values) - ties
    return (ties / len(values) if values else float("nan"),
            sum(v == FIRST for v in values) / rest if rest else float("nan"))


def rater_card(ratings: list[Rating], axes: tuple[Axis, ...], kind: str = "pairwise", n_boot: int = N_BOOT,
               seed: int = 0) -> list[AxisCard]:
    """One AxisCard per (judge, axis) for the judges (auto:/jury:/recorded:) and human raters in `ratings`."""
    human, judges = split_judge([r for r in ratings if r.kind == kind])
    hum = defaultdict(dict)                       # (axis, item) -> {rater: value}
    raw_h = defaultdict(list)                     # axis -> values as shown
    sources = set()
    for r in human:
        item, src, val = _key(r)
        hum[(r.axis, item)][r.rater] = val
        raw_h[r.axis].append(r.value)
        sources.update(src.split("|"))
    jud = defaultdict(dict)                       # judge -> (axis, item) -> value
    raw_j = defaultdict(list)                     # (judge, axis) -> values as shown
    for r in judges:
        item, _, val = _key(r)
        jud[r.rater][(r.axis, item)] = val
        raw_j[(r.rater, r.axis)].append(r.value)
    out = []
    for judge in sorted(jud):
        for axis in axes:
            items = sorted(i for (a, i) in hum if a == axis.key)
            if not items:
                continue
            labels = _labels(axis, kind, sorted(sources))
            wtd = ordinal(axis, kind)

            def kap(c):
                return kappa_from(c, wtd)

            def f1(c):
                return balanced_f1_from(c, kind != "pairwise")
            jp, cp = defaultdict(list), defaultdict(list)          # reference rater -> pairs
            for i in items:
                hs, j = hum[(axis.key, i)], jud[judge].get((axis.key, i))
                for r1, v in hs.items():
                    if j is not None:
                        jp[r1].append((i, v, j))
                    cp[r1] += [(i, v, w) for r2, w in hs.items() if r2 != r1]
            all_j = [p for ps in jp.values() for p in ps]
            all_c = [p for ps in cp.values() for p in ps]
            cj, cc = _confusions(all_j, labels, items), _confusions(all_c, labels, items)
            diff = paired_difference(cj, cc, kap, n_boot, seed)
            rows = [RaterRow(r, len(jp[r]), confusion_interval(_confusions(jp[r], labels), kap, n_boot, seed),
                             confusion_interval(_confusions(cp[r], labels), kap, n_boot, seed))
                    for r in sorted({r for i in items for r in hum[(axis.key, i)]})]
            jt, jf = _shares(raw_j[(judge, axis.key)])
            ht, hf = _shares(raw_h[axis.key])
            out.append(AxisCard(axis.key, judge, len(items), sum((axis.key, i) in jud[judge] for i in items),
                                confusion_interval(cj, kap, n_boot, seed), confusion_interval(cj, f1, n_boot, seed),
                                confusion_interval(cc, kap, n_boot, seed),
                                confusion_interval(cc, f1, n_boot, seed), diff,
                                verdict(diff), jt, ht, jf, hf, rows))
    return out
