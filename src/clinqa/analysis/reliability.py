"""Inter-rater reliability per axis over the items rated by two or more raters: Randolph's free-marginal multirater
kappa (what the paper reported), with Fleiss' kappa (statsmodels) and Krippendorff's alpha (krippendorff) beside it.

When one value holds most ratings (low base rates, e.g. "no harm" 95%), Fleiss' kappa and Krippendorff's alpha can be
low despite near-perfect agreement (the kappa paradox); the paper rejected alpha for this reason. Such axes get a note.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import krippendorff
import numpy as np
from statsmodels.stats.inter_rater import fleiss_kappa

from clinqa.analysis.table import Rating, unblind
from clinqa.data.rubric import Axis

SKEW = 0.9   # a dominant value above this share triggers the base-rate note


@dataclass
class AxisReliability:
    kind: str
    axis: str
    n_items: int
    n_ratings: int
    percent_agreement: float
    randolph_kappa: float
    fleiss_kappa: float
    krippendorff_alpha: float
    dominant_share: float
    note: str


def count_table(items: list[list[str]], categories: list[str]) -> np.ndarray:
    """items x categories: how many raters put each item in each category."""
    col = {c: i for i, c in enumerate(categories)}
    t = np.zeros((len(items), len(categories)), dtype=float)
    for i, vals in enumerate(items):
        for v in vals:
            t[i, col[v]] += 1
    return t


def observed_agreement(table: np.ndarray) -> float:
    """Mean over items of the share of agreeing rater pairs (items may have different numbers of raters)."""
    n = table.sum(axis=1)
    return float(np.mean((table * (table - 1)).sum(axis=1) / (n * (n - 1))))


def randolph_kappa(table: np.ndarray, n_categories: int) -> float:
    """Randolph (2005) free-marginal multirater kappa: (P_o - 1/k) / (1 - 1/k)."""
    chance = 1.0 / n_categories
    return (observed_agreement(table) - chance) / (1 - chance)


def reliability(ratings: list[Rating], axes: tuple[Axis, ...], kind: str) -> list[AxisReliability]:
    out = []
    for axis in axes:
        by_item: dict[str, dict[str, str]] = defaultdict(dict)
        scale = list(axis.scale)
        for r in ratings:
            if r.kind == kind and r.axis == axis.key:
                if kind == "pairwise":       # raters saw different sides: compare the source they chose
                    key, pair, chosen = unblind(r)
                    by_item[key][r.rater] = chosen
                    scale += [s for s in pair if s not in scale]
                else:
                    by_item[r.item][r.rater] = r.value
        multi = {i: v for i, v in by_item.items() if len(v) >= 2}
        if not multi:
            continue
        values = [list(v.values()) for v in multi.values()]
        if kind == "pairwise":
            scale = [s for s in scale if s not in ("Answer 1", "Answer 2")]
        table = count_table(values, scale)
        n_per = table.sum(axis=1)
        modal = Counter(n_per.tolist()).most_common(1)[0][0]
        equal = table[n_per == modal]   # Fleiss' kappa needs the same number of raters per item
        fk = float(fleiss_kappa(equal, method="fleiss")) if len(equal) > 1 else float("nan")
        raters = sorted({r for v in multi.values() for r in v})
        code = {c: i for i, c in enumerate(scale)}
        data = np.full((len(raters), len(multi)), np.nan)
        for j, v in enumerate(multi.values()):
            for rater, val in v.items():
                data[raters.index(rater), j] = code[val]
        try:
            alpha = float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
        except ValueError:      # one value only: alpha is undefined
            alpha = float("nan")
        counts = table.sum(axis=0)
        dominant = float(counts.max() / counts.sum())
        note = ""
        if dominant > SKEW:
            note = (f"{100 * dominant:.0f}% of ratings are {scale[int(counts.argmax())]!r}: with base rates this "
                    "skewed Fleiss' kappa and Krippendorff's alpha understate agreement; read Randolph's kappa")
        out.append(AxisReliability(kind, axis.key, len(multi), int(table.sum()), observed_agreement(table),
                                   randolph_kappa(table, len(scale)), fk, alpha, dominant, note))
    return out
