"""Bias probes for an LLM judge, beside the judge card:

- length: answers split into length tertiles; per tertile, the judge's and the physicians' best-bin share (over all
  axes) on the same answers, and the share of pairs where judge and physician agree. Spearman's rho between length
  and the per-answer gap (judge minus physicians) sums it up: a positive rho means the judge favours longer answers
  more than physicians do.
- self-preference: when the judge is also one of the answering models, the judge-minus-physician gap on its own
  answers minus the gap on the other sources' answers (bootstrap 95% interval over answers).
- position (pairwise): the share of the judge's non-tie choices that picked "Answer 1" (physicians' share beside it);
  the swap test that asks a grader again is `clinqa.judge.position`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from scipy import stats

from clinqa.analysis.judge import split_judge
from clinqa.analysis.table import Rating
from clinqa.data.rubric import Axis
from clinqa.stats import bootstrap, mean_of_units


def _per_item(ratings, axes, kind):
    """judge -> item -> (source, judge best share, human best share, agree share)."""
    human, judges = split_judge([r for r in ratings if r.kind == kind])
    best = {a.key: a.best for a in axes}
    hv = defaultdict(list)
    for r in human:
        if r.axis in best:
            hv[(r.item, r.axis)].append(r.value)
    out = defaultdict(dict)
    acc = defaultdict(lambda: defaultdict(list))
    for r in judges:
        hs = hv.get((r.item, r.axis))
        if r.axis in best and hs:
            acc[r.rater][r.item].append((r.source, r.value == best[r.axis],
                                         np.mean([h == best[r.axis] for h in hs]), np.mean([h == r.value for h in hs])))
    for judge, items in acc.items():
        for item, xs in items.items():
            out[judge][item] = (xs[0][0], *np.mean([x[1:] for x in xs], axis=0))
    return out


@dataclass
class LengthBin:
    judge: str
    bin: str
    n_items: int
    judge_best: float
    human_best: float
    agreement: float


def length_bias(ratings: list[Rating], lengths: dict[str, int], axes: tuple[Axis, ...], kind: str = "physician"):
    """([LengthBin], {judge: (spearman rho, p)}) over answers with judge and human ratings and a known length."""
    bins, rhos = [], {}
    for judge, items in _per_item(ratings, axes, kind).items():
        keys = [i for i in items if i in lengths]
        if len(keys) < 3:
            continue
        ln = np.array([lengths[i] for i in keys], float)
        v = np.array([items[i][1:] for i in keys])
        cuts = np.quantile(ln, [1 / 3, 2 / 3])
        group = np.searchsorted(cuts, ln, side="right")
        for g, name in enumerate(("short", "medium", "long")):
            m = group == g
            if m.any():
                lo, hi = int(ln[m].min()), int(ln[m].max())
                bins.append(LengthBin(judge, f"{name} ({lo}-{hi} chars)", int(m.sum()), *v[m].mean(0)))
        rho, p = stats.spearmanr(ln, v[:, 0] - v[:, 1])
        rhos[judge] = (float(rho), float(p))
    return bins, rhos


def self_preference(ratings: list[Rating], axes: tuple[Axis, ...], kind: str = "physician",
                    own: dict[str, str] | None = None, n_boot: int = 2000, seed: int = 0) -> dict:
    """{judge: (own source, gap own - gap others, low, high)} for judges whose model answered too. `own` maps a judge
    rater to its source; by default a judge "auto:NAME" owns source NAME."""
    out = {}
    rng = np.random.default_rng(seed)
    for judge, items in _per_item(ratings, axes, kind).items():
        src = (own or {}).get(judge, judge.split(":", 1)[1])
        mine = np.array([v[1] - v[2] for v in items.values() if v[0] == src])
        other = np.array([v[1] - v[2] for v in items.values() if v[0] != src])
        if mine.size < 2 or other.size < 2:
            continue
        gap = bootstrap(lambda m, o: mean_of_units(m) - mean_of_units(o), mine, other, n_boot=n_boot, seed=rng,
                        estimate=float(mine.mean() - other.mean()))
        out[judge] = (src, gap.estimate, gap.low, gap.high)
    return out


def first_position_share(ratings: list[Rating]) -> dict[str, tuple[float, int]]:
    """{rater group ("physicians" or a judge): (share of non-tie pairwise choices that were "Answer 1", n)}."""
    human, judges = split_judge([r for r in ratings if r.kind == "pairwise"])
    out = {}
    for name, rs in [("physicians", human)] + [(j, [r for r in judges if r.rater == j])
                                                for j in sorted({r.rater for r in judges})]:
        picks = [r.value == "Answer 1" for r in rs if r.value != "Tie"]
        if picks:
            out[name] = (float(np.mean(picks)), len(picks))
    return out
