"""PPI++ on real labels: how prediction-powered estimates behave when the "physicians" are real raters who disagree,
not a simulation. From a study where a judge rated every item and several humans rated every item (the OLAPH expert
pairwise ratings with GPT-4's recorded verdicts), each axis's preference share (the share of human ratings choosing
`source`) over all items is the target; each split keeps the human ratings of a uniform random fraction of the items
only, and the share is estimated three ways: human-only (the kept items), judge-only (the judge's verdicts on every
item) and PPI++ (both; `clinqa.analysis.ppi.ppi_mean`). Over many seeded splits: coverage of the all-humans value and
the mean interval width, with PPI++'s width as a ratio of human-only's.

Items the judge left unrated (a verdict that did not parse) are left out of the target and of every estimate (PPI
needs the judge's prediction on each item). The labelled items are drawn without replacement from a finite set, so
intervals that ignore the finite-population correction are slightly conservative for the all-items target.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from clinqa.analysis.judge import split_judge
from clinqa.analysis.ppi import human_only, judge_only, ppi_mean
from clinqa.analysis.table import Rating, unblind
from clinqa.data.rubric import Axis

METHODS = ("human-only", "judge-only", "PPI++")


@dataclass
class CoverageRow:
    axis: str
    judge: str
    fraction: float
    n_labeled: int
    n_items: int
    target: float                      # share over all items and all human ratings
    coverage: dict[str, float]         # method -> share of splits whose interval holds the target
    width: dict[str, float]            # method -> mean interval width
    mean_lambda: float

    @property
    def width_ratio(self) -> float:
        """PPI++ width / human-only width (below 1: PPI++ saves ratings)."""
        return self.width["PPI++"] / self.width["human-only"] if self.width["human-only"] > 0 else float("nan")


def item_arrays(ratings: list[Rating], axis: str, judge: str, source: str) -> tuple[np.ndarray, np.ndarray]:
    """(y, f) per item the judge and at least one human rated: y = share of human ratings choosing `source`,
    f = 1 if the judge chose it."""
    human, judges = split_judge([r for r in ratings if r.kind == "pairwise" and r.axis == axis])
    hum = defaultdict(list)
    for r in human:
        key, _, chosen = unblind(r)
        hum[key].append(chosen == source)
    jud = {unblind(r)[0]: float(unblind(r)[2] == source) for r in judges if r.rater == judge}
    items = sorted(k for k in hum if k in jud)
    return np.array([np.mean(hum[k]) for k in items]), np.array([jud[k] for k in items])


def split_estimates(y: np.ndarray, f: np.ndarray, n_labeled: int, rng: np.random.Generator) -> dict:
    """One split: the three estimates with human ratings on `n_labeled` uniformly drawn items."""
    lab = np.zeros(y.size, bool)
    lab[rng.permutation(y.size)[:n_labeled]] = True
    return {"human-only": human_only(y[lab]), "judge-only": judge_only(f), "PPI++": ppi_mean(y[lab], f[lab], f[~lab])}


def coverage_on_real(ratings: list[Rating], axes: tuple[Axis, ...], source: str, fractions=(0.1, 0.25, 0.5),
                     n_splits: int = 1000, seed: int = 0) -> list[CoverageRow]:
    """One row per (judge, axis, fraction); the same seed gives the same splits and numbers."""
    judges = sorted({r.rater for r in split_judge(ratings)[1]})
    out = []
    for judge in judges:
        for ai, axis in enumerate(axes):
            y, f = item_arrays(ratings, axis.key, judge, source)
            if y.size < 4:
                continue
            target = float(y.mean())
            for fi, frac in enumerate(fractions):
                n = max(2, int(round(frac * y.size)))
                rng = np.random.default_rng([seed, ai, fi])
                runs = [split_estimates(y, f, n, rng) for _ in range(n_splits)]
                out.append(CoverageRow(axis.key, judge, frac, n, y.size, target,
                                       {m: float(np.mean([r[m].low <= target <= r[m].high for r in runs]))
                                        for m in METHODS},
                                       {m: float(np.mean([r[m].width for r in runs])) for m in METHODS},
                                       float(np.mean([r["PPI++"].lam for r in runs]))))
    return out
