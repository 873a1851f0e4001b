"""Study planning by simulation (`clinqa rate plan`): the minimum detectable difference (MDE) in an axis's best-bin
share at a target power, or the questions needed for a target difference, for the clustered design the analysis uses.

Each simulated study has `n_questions` questions answered by two sources (paired: the same questions, as model vs
physician answers; or unpaired); every answer has its own latent quality, Beta-distributed around its source's share
with intra-answer correlation `icc` (ratings of one answer agree more than ratings of different answers), and is rated
`raters` times. The p-value comes from the analysis code itself (`resampling.permutation_test`, paired or unpaired,
optionally one rating per answer); power is the share of studies with p < alpha. Simulations use common random numbers
across effect sizes, so the power curve is monotone and a bisection finds the 80% crossing.

The difference is taken away from the ceiling (lower than the baseline when the baseline is above 50%): a share near
100% leaves little room above it. For a Holm correction across m axes, plan with alpha / m (Holm's strictest step;
conservative).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from clinqa.analysis.resampling import permutation_test


@dataclass(frozen=True)
class Design:
    n_questions: int = 140
    raters: int = 3                   # ratings per answer
    icc: float = 0.14                 # intra-answer correlation of ratings (Beta concentration 1/icc - 1)
    paired: bool = True               # both sources answered the same questions
    one_per_answer: bool = False      # analyse with --one-per-answer
    alpha: float = 0.05
    n_perm: int = 200                 # permutations per simulated study (the analysis default is 10,000)

    def check(self) -> None:
        if self.n_questions < 2 or self.raters < 1:
            raise ValueError("n_questions must be 2+ and raters 1+")
        if not 0 < self.icc < 1:
            raise ValueError(f"icc must be between 0 and 1 (exclusive), not {self.icc}")
        if not 0 < self.alpha < 1 or self.n_perm < 20:
            raise ValueError("alpha must be in (0, 1) and n_perm at least 20")


def _draws(design: Design, n_sims: int, seed: int):
    """The uniforms behind every simulated study (reused for every effect size: common random numbers)."""
    rng = np.random.default_rng(seed)
    n = design.n_questions
    return (rng.random((n_sims, 2, n)), rng.random((n_sims, 2, n, design.raters)),
            rng.integers(0, 2**31 - 1, n_sims))


def _beta_quantile(u: np.ndarray, p: float, icc: float) -> np.ndarray:
    from scipy.stats import beta
    c = 1 / icc - 1
    p = min(max(p, 1e-6), 1 - 1e-6)
    return beta.ppf(u, p * c, (1 - p) * c)


def simulated_pvalues(design: Design, baseline: float, difference: float, n_sims: int = 400,
                      seed: int = 0) -> np.ndarray:
    """p-values of `n_sims` simulated studies where source A's share is `baseline - difference` (or `+` below 50%)
    and source B's is `baseline`."""
    design.check()
    other = baseline - difference if baseline > 0.5 else baseline + difference
    u_answer, u_rating, seeds = _draws(design, n_sims, seed)
    qa, qb = _beta_quantile(u_answer[:, 0], other, design.icc), _beta_quantile(u_answer[:, 1], baseline, design.icc)
    best_a = (u_rating[:, 0] < qa[..., None]).sum(-1)
    best_b = (u_rating[:, 1] < qb[..., None]).sum(-1)
    total = np.full(design.n_questions, design.raters)
    return np.array([permutation_test(best_a[i], total, best_b[i], total, paired=design.paired,
                                      n_perm=design.n_perm, seed=int(seeds[i]),
                                      one_per_answer=design.one_per_answer).p_value for i in range(n_sims)])


def power(design: Design, baseline: float, difference: float, n_sims: int = 400, seed: int = 0) -> float:
    return float(np.mean(simulated_pvalues(design, baseline, difference, n_sims, seed) < design.alpha))


def mde(design: Design, baseline: float, target_power: float = 0.8, n_sims: int = 400, seed: int = 0,
        steps: int = 9) -> float:
    """The smallest difference (absolute, in share) detected with `target_power`; nan when even the largest
    possible difference is not."""
    if not 0 < baseline < 1:
        raise ValueError(f"baseline share must be in (0, 1), not {baseline}")
    lo, hi = 0.0, (baseline if baseline > 0.5 else 1 - baseline) - 1e-3
    if power(design, baseline, hi, n_sims, seed) < target_power:
        return float("nan")
    for _ in range(steps):
        mid = (lo + hi) / 2
        if power(design, baseline, mid, n_sims, seed) >= target_power:
            hi = mid
        else:
            lo = mid
    return hi


def questions_needed(design: Design, baseline: float, difference: float, target_power: float = 0.8,
                     n_sims: int = 400, seed: int = 0, max_questions: int = 5000) -> int | None:
    """The fewest questions giving `target_power` for `difference`; None beyond `max_questions`."""
    def ok(n):
        return power(replace(design, n_questions=n), baseline, difference, n_sims, seed) >= target_power
    lo, hi = 2, 8
    while not ok(hi):
        lo, hi = hi, hi * 2
        if hi > max_questions:
            return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi
