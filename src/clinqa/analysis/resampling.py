"""The resampling statistics the paper used for ratings, vectorised with numpy.

Every function works on per-answer counts: for answer j, `best[j]` ratings fell in the axis's best bin out of
`total[j]` ratings. The statistic is the share of all ratings in the best bin (sum best / sum total).

- `cluster_bootstrap`: percentile interval (`clinqa.stats.bootstrap`), resampling whole answers (clustered by
  answer), 10,000 resamples.
- `permutation_test`: two-tailed, 10,000 permutations, all of an answer's ratings moving together (blocked by answer).
  Paired (the two sources answered the same questions): each question's two answers swap sources with probability 1/2.
  Unpaired: answers are shuffled between sources.
- `one_per_answer=True` (the paper, for comparisons with single-rated sources): every bootstrap resample draws one
  random rating per answer, so a triple-rated source gets the interval of a single-rated one; the permutation test
  scores each answer by the expected value of one random rating (its best-bin share), so every answer weighs the same.
  (Averaging the permutation p-value over random sub-samples instead was measured here to be far too conservative:
  0.3% false positives at alpha 0.05.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clinqa.stats import N_BOOT, Interval, bootstrap

N_RESAMPLES = N_BOOT


def _subsample(best: np.ndarray, total: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One random rating per answer, for an array of any shape: 1 if it is in the best bin."""
    return (np.floor(rng.random(best.shape) * total) < best).astype(float)


def share(best, total, one_per_answer: bool = False) -> float:
    """Point estimate: share of ratings in the best bin (with one rating per answer: its expected value)."""
    best, total = np.asarray(best, float), np.asarray(total, float)
    if one_per_answer:
        return float(np.mean(best / total))
    return float(best.sum() / total.sum())


def cluster_bootstrap(best, total, n_boot: int = N_RESAMPLES, level: float = 0.95, seed: int = 0,
                      one_per_answer: bool = False) -> Interval:
    """Share in the best bin with a percentile interval, resampling answers (their rating counts move together);
    with `one_per_answer` every resampled answer contributes one random rating, drawn after the answers."""
    best, total = np.asarray(best, float), np.asarray(total, float)
    rng = np.random.default_rng(seed)

    def statistic(b, t):
        return _subsample(b, t, rng).mean(axis=1) if one_per_answer else b.sum(axis=1) / t.sum(axis=1)
    return bootstrap(statistic, best, total, paired=True, n_boot=n_boot, level=level, seed=rng,
                     estimate=share(best, total, one_per_answer) if best.size else None)


@dataclass(frozen=True)
class PermutationResult:
    difference: float        # share(A) - share(B)
    p_value: float
    paired: bool
    n_permutations: int


def permutation_test(best_a, total_a, best_b, total_b, paired: bool = False, n_perm: int = N_RESAMPLES,
                     seed: int = 0, one_per_answer: bool = False) -> PermutationResult:
    """Test share(A) = share(B), two-tailed; the p-value counts permutations at least as extreme, with the +1
    correction (never 0, valid at any number of permutations). Paired inputs are aligned by question."""
    ba, ta, bb, tb = (np.asarray(x, float) for x in (best_a, total_a, best_b, total_b))
    if paired and ba.size != bb.size:
        raise ValueError(f"paired permutation needs the same questions: {ba.size} vs {bb.size}")
    rng = np.random.default_rng(seed)
    diff = share(ba, ta, one_per_answer) - share(bb, tb, one_per_answer)
    shape_a, shape_b = (n_perm, ba.size), (n_perm, bb.size)
    if one_per_answer:
        # each answer weighs as one rating: its score is the expected value of one randomly drawn rating (b / t),
        # the Rao-Blackwellised form of sub-sampling one rating per answer in every permutation
        ba, bb = ba / ta, bb / tb
        ta, tb = np.ones_like(ba), np.ones_like(bb)
    ba, ta, bb, tb = (np.broadcast_to(x, s) for x, s in ((ba, shape_a), (ta, shape_a), (bb, shape_b), (tb, shape_b)))
    observed = ba.sum(1) / ta.sum(1) - bb.sum(1) / tb.sum(1)
    if paired:
        flip = rng.random(shape_a) < 0.5
        pa_b, pa_t, pb_b, pb_t = np.where(flip, bb, ba), np.where(flip, tb, ta), np.where(flip, ba, bb), np.where(flip, ta, tb)
    else:
        order = rng.random((n_perm, shape_a[1] + shape_b[1])).argsort(axis=1)
        pool_b = np.take_along_axis(np.concatenate([ba, bb], axis=1), order, axis=1)
        pool_t = np.take_along_axis(np.concatenate([ta, tb], axis=1), order, axis=1)
        k = shape_a[1]
        pa_b, pa_t, pb_b, pb_t = pool_b[:, :k], pool_t[:, :k], pool_b[:, k:], pool_t[:, k:]
    permuted = pa_b.sum(1) / pa_t.sum(1) - pb_b.sum(1) / pb_t.sum(1)
    hits = np.sum(np.abs(permuted) >= np.abs(observed) - 1e-12)
    return PermutationResult(diff, float((hits + 1) / (n_perm + 1)), paired, n_perm)
