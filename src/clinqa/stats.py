"""Statistical primitives, in one place for every layer: the one percentile bootstrap (any statistic over units,
optionally paired or clustered, seeded), Cohen's kappa and weighted kappa (statsmodels), Clopper-Pearson and bootstrap
intervals for accuracy, and the paired comparison of two runs on the same questions (exact McNemar test, paired
bootstrap difference). Holm and Bonferroni corrections come from statsmodels' `multipletests` at the call sites."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats
from statsmodels.stats.inter_rater import cohens_kappa

N_BOOT = 10_000
CHUNK_ELEMENTS = 2 ** 24     # resampled values held at once (the statistic is evaluated on chunks of resamples)


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


def _cluster_sums(sample: np.ndarray, labels) -> np.ndarray:
    """The rows of `sample` summed within each cluster (clusters in sorted label order)."""
    labels = np.asarray(labels)
    if labels.shape[0] != sample.shape[0]:
        raise ValueError(f"clusters need one label per unit: {labels.shape[0]} labels for {sample.shape[0]} units")
    _, inverse = np.unique(labels, return_inverse=True)
    sums = np.zeros((int(inverse.max()) + 1 if inverse.size else 0, *sample.shape[1:]))
    np.add.at(sums, inverse, sample)
    return sums


def _units(samples, clusters) -> list[np.ndarray]:
    xs = [np.asarray(s) for s in samples]
    return xs if clusters is None else [_cluster_sums(x.astype(float), clusters) for x in xs]


def bootstrap_replicates(statistic: Callable[..., np.ndarray], *samples, clusters: Sequence | None = None,
                         paired: bool = False, n_boot: int = N_BOOT,
                         seed: int | np.random.Generator = 0) -> np.ndarray:
    """The bootstrap distribution of `statistic` (n_boot values, or rows when it returns several numbers).

    Every sample is resampled along its first axis (its units) with replacement: `statistic(*resampled)` receives
    each sample indexed by an (n resamples, n units) index array, so of shape (resamples, units, ...), and returns
    one value (or row) per resample. Unpaired samples are drawn one after another from the seeded generator (a
    two-sample bootstrap); `paired=True` draws once and resamples the same units of every sample (same length).
    `clusters` (one label per unit, shared by all samples) resamples whole clusters: the units of a cluster are
    summed into one row first, so the statistic sees one row per cluster (for statistics of sums: shares, ratios
    of totals, confusion counts). `seed` may be a Generator, to continue its stream."""
    xs = _units(samples, clusters)
    sizes = [x.shape[0] for x in xs]
    if paired and len(set(sizes)) > 1:
        raise ValueError(f"a paired bootstrap needs the same units in every sample: {sizes}")
    rng = np.random.default_rng(seed)
    draws = ([rng.integers(0, sizes[0], size=(n_boot, sizes[0]))] * len(xs) if paired else
             [rng.integers(0, n, size=(n_boot, n)) for n in sizes])
    step = max(1, CHUNK_ELEMENTS // max(1, sum(x.size for x in xs)))
    return np.concatenate([np.asarray(statistic(*(x[d[i:i + step]] for x, d in zip(xs, draws))), dtype=float)
                           for i in range(0, n_boot, step)])


def percentile_interval(estimate: float, replicates: np.ndarray, level: float = 0.95) -> Interval:
    """Percentile interval from bootstrap replicates (undefined ones, nan, left out)."""
    r = np.asarray(replicates, float)
    r = r[~np.isnan(r)]
    if r.size == 0:
        return Interval(float(estimate), float("nan"), float("nan"))
    a = (1 - level) / 2
    return Interval(float(estimate), float(np.quantile(r, a)), float(np.quantile(r, 1 - a)))


def bootstrap(statistic: Callable[..., np.ndarray], *samples, clusters: Sequence | None = None, paired: bool = False,
              n_boot: int = N_BOOT, level: float = 0.95, seed: int | np.random.Generator = 0,
              estimate: float | None = None) -> Interval:
    """Point estimate (the statistic on the samples as they are, unless `estimate` is given) and percentile
    bootstrap interval; see `bootstrap_replicates` for the statistic, pairing and clusters. Empty samples give nan."""
    if any(len(s) == 0 for s in samples):
        return Interval(float("nan"), float("nan"), float("nan"))
    if estimate is None:
        estimate = float(np.asarray(statistic(*(x[None] for x in _units(samples, clusters))), float)[0])
    return percentile_interval(estimate, bootstrap_replicates(statistic, *samples, clusters=clusters, paired=paired,
                                                              n_boot=n_boot, seed=seed), level)


def mean_of_units(x: np.ndarray) -> np.ndarray:
    """Statistic for `bootstrap`: the mean over units of every resample."""
    return x.mean(axis=1)


def bootstrap_mean(x, level: float = 0.95, n_boot: int = N_BOOT, seed: int = 0) -> Interval:
    """Percentile bootstrap interval of a mean (e.g. accuracy from 0/1 outcomes)."""
    x = np.asarray(x, dtype=float)
    return bootstrap(mean_of_units, x, n_boot=n_boot, level=level, seed=seed,
                     estimate=float(x.mean()) if x.size else None)


def cohen_kappa(table, weighted: bool = False) -> float:
    """Cohen's kappa of a k x k confusion table (reference rows, rater columns), linearly weighted for ordinal
    scales when `weighted` (statsmodels' cohens_kappa); nan when undefined (no expected disagreement)."""
    table = np.asarray(table, float)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        value = float(cohens_kappa(table, wt="linear" if weighted else None, return_results=False))
    return value if np.isfinite(value) else float("nan")


def cohen_kappa_tables(tables, weighted: bool = False) -> np.ndarray:
    """Cohen's kappa of every k x k table in `tables` (shape (..., k, k)) at once: the bootstrap's thousands of
    resampled tables, where one statsmodels call per table is ~100 times slower. The same formula as `cohen_kappa`
    (linear weights |i - j| / (k - 1) when `weighted`); tests/test_stats.py checks the two agree."""
    t = np.asarray(tables, float)
    k = t.shape[-1]
    idx = np.arange(k)
    w = np.abs(idx[:, None] - idx[None, :]) / max(k - 1, 1) if weighted else (idx[:, None] != idx[None, :]) * 1.0
    n = t.sum((-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = (t * w).sum((-2, -1)) / n
        expected = (np.einsum("...i,...j->...ij", t.sum(-1), t.sum(-2)) * w).sum((-2, -1)) / n ** 2
        kappa = 1 - observed / expected
    return np.where(np.isfinite(kappa), kappa, np.nan)


def label_table(a: Sequence, b: Sequence, labels: Sequence | None = None) -> np.ndarray:
    """Confusion table of two raters' labels on the same items (rows: a, columns: b), over `labels` (default: every
    label either used, sorted)."""
    labels = sorted(set(a) | set(b)) if labels is None else list(labels)
    pos = {v: i for i, v in enumerate(labels)}
    table = np.zeros((len(labels), len(labels)))
    for x, y in zip(a, b):
        table[pos[x], pos[y]] += 1
    return table


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
    return PairedComparison(int(a.size), float(a.mean()) if a.size else float("nan"),
                            float(b.mean()) if b.size else float("nan"), only_a, only_b, mcnemar_exact(only_a, only_b),
                            bootstrap_mean(b - a, level, n_boot, seed))
