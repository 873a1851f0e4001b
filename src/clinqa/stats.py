"""Statistical primitives for multiple-choice results: Clopper-Pearson and bootstrap intervals for accuracy, and the
paired comparison of two runs on the same questions (exact McNemar test, paired bootstrap difference)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float

    def fmt(self, pct: bool = True) -> str:
        f = (lambda x: f"{100 * x:.1f}") if pct else (lambda x: f"{x:.3f}")
        return f"{f(self.estimate)} [{f(self.low)}, {f(self.high)}]"


def clopper_pearson(k: int, n: int, level: float = 0.95) -> Interval:
    """Exact binomial interval (what Med-PaLM 2's Nature Medicine version uses for accuracy)."""
    if n == 0:
        return Interval(float("nan"), 0.0, 1.0)
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    return Interval(k / n, float(ci.low), float(ci.high))


def bootstrap_mean(x, level: float = 0.95, n_boot: int = 10_000, seed: int = 0) -> Interval:
    """Percentile bootstrap interval of a mean (e.g. accuracy from 0/1 outcomes)."""
    x = np.asarray(x, dtype=float)
    if x.size == 0:
        return Interval(float("nan"), float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(n_boot, x.size))].mean(axis=1)
    a = (1 - level) / 2
    return Interval(float(x.mean()), float(np.quantile(means, a)), float(np.quantile(means, 1 - a)))


@dataclass(frozen=True)
class PairedComparison:
    n: int
    acc_a: float
    acc_b: float
    only_a: int          # questions A got right and B wrong
    only_b: int
    mcnemar_p: float     # exact (binomial) McNemar test, two-sided
    diff: Interval       # accuracy B - A with a paired bootstrap interval


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Exact McNemar p-value: a two-sided binomial test on the discordant pairs."""
    m = only_a + only_b
    return 1.0 if m == 0 else float(stats.binomtest(only_a, m, 0.5).pvalue)


def paired_compare(a, b, n_boot: int = 10_000, seed: int = 0, level: float = 0.95) -> PairedComparison:
    """Compare two runs' 0/1 correctness on the same questions, in the same order."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired comparison needs the same questions: {a.size} vs {b.size}")
    only_a, only_b = int(((a == 1) & (b == 0)).sum()), int(((a == 0) & (b == 1)).sum())
    d = b - a
    rng = np.random.default_rng(seed)
    boots = d[rng.integers(0, d.size, size=(n_boot, d.size))].mean(axis=1) if d.size else np.array([np.nan])
    q = (1 - level) / 2
    return PairedComparison(int(a.size), float(a.mean()) if a.size else float("nan"),
                            float(b.mean()) if b.size else float("nan"), only_a, only_b, mcnemar_exact(only_a, only_b),
                            Interval(float(d.mean()) if d.size else float("nan"), float(np.quantile(boots, q)),
                                     float(np.quantile(boots, 1 - q))))
