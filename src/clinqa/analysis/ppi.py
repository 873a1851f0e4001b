"""Prediction-powered estimates of a best-bin share: judge (LLM grader) ratings on many answers plus physician ratings
on some of them give an unbiased estimate with a valid 95% interval, narrower than physicians alone when the judge is
informative, and never misled by a biased judge (the physicians' subset measures and removes the bias).

The unit is the answer (clustered by answer): y = the share of its human ratings in the best bin, f = the judge's
prediction of it (1/0 for one judge, the share of jury votes for several). The target is the mean over answers of y's
expectation, i.e. the best-bin share with every answer weighing the same.

- `ppi_mean`: PPI++ (Angelopoulos, Duchi & Zrnic 2023), power-tuned: theta = mean_n(y - lam f) + lam mean_N(f~), with
  lam = cov(y, f) / ((1 + n/N) var(f)) clipped to [0, 1] (0 gives the human-only estimate), t interval (df = n - 1). The
  labelled answers must be a uniform random subset of the judged ones, disjoint from the N unlabelled answers.
- `active_mean`: the same with labelling probabilities pi_i chosen per answer (active inference, Zrnic & Candes 2024):
  theta = mean_i [lam f_i + (y_i - lam f_i) xi_i / pi_i] over all judged answers, xi_i = 1 if answer i was sent to
  humans. Unbiased for any pi > 0 recorded at selection time; uniform pi is the Bernoulli-sampled version of PPI++.
- `human_only`, `judge_only`: the two naive estimates, for the report to show beside PPI.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Estimate:
    method: str              # human-only | judge-only | PPI++ | active PPI++
    estimate: float
    low: float
    high: float
    n_labeled: int           # answers with human ratings used
    n_judged: int            # answers with judge ratings used
    lam: float = float("nan")

    @property
    def width(self) -> float:
        return self.high - self.low

    def fmt(self) -> str:
        return f"{100 * self.estimate:.1f} [{100 * self.low:.1f}, {100 * self.high:.1f}]"


def _z(level: float, df: int | None = None) -> float:
    """Normal quantile, or Student's t with df degrees of freedom (small labelled sets: slightly wider, better
    coverage for skewed shares)."""
    q = 1 - (1 - level) / 2
    return float(stats.t.ppf(q, df) if df and df > 0 else stats.norm.ppf(q))


def _var(x: np.ndarray) -> float:
    return float(np.var(x, ddof=1)) if x.size > 1 else float("nan")


def _interval(method, est, se, level, n, N, lam=float("nan"), df=None) -> Estimate:
    z = _z(level, df)
    # shares: estimate and interval are clipped to [0, 1] (the unclipped estimator is unbiased and can step outside
    # it by a little; clipping never moves an interval away from a truth inside [0, 1])
    return Estimate(method, float(np.clip(est, 0, 1)), float(np.clip(est - z * se, 0, 1)),
                    float(np.clip(est + z * se, 0, 1)), n, N, float(lam))


def human_only(y, level: float = 0.95) -> Estimate:
    y = np.asarray(y, float)
    return _interval("human-only", y.mean() if y.size else np.nan, np.sqrt(_var(y) / y.size) if y.size else np.nan,
                     level, y.size, 0, df=y.size - 1)


def judge_only(f, level: float = 0.95) -> Estimate:
    f = np.asarray(f, float)
    return _interval("judge-only", f.mean() if f.size else np.nan, np.sqrt(_var(f) / f.size) if f.size else np.nan,
                     level, 0, f.size)


def power_tuned_lambda(y, f_labeled, f_unlabeled) -> float:
    """PPI++'s variance-minimising lambda for the mean, clipped to [0, 1]."""
    y, fl, fu = (np.asarray(x, float) for x in (y, f_labeled, f_unlabeled))
    n, N = y.size, fu.size
    vf = _var(np.concatenate([fl, fu]))
    if n < 2 or N == 0 or not vf > 0:
        return 0.0
    lam = np.cov(y, fl)[0, 1] / ((1 + n / N) * vf)
    return float(np.clip(lam, 0.0, 1.0))


def ppi_mean(y, f_labeled, f_unlabeled, level: float = 0.95, lam: float | None = None) -> Estimate:
    """PPI++ estimate of the mean of y from n labelled answers (y, f) and N unlabelled answers (f only)."""
    y, fl, fu = (np.asarray(x, float) for x in (y, f_labeled, f_unlabeled))
    if y.shape != fl.shape:
        raise ValueError(f"y and f_labeled must align: {y.shape} vs {fl.shape}")
    if y.size < 2:
        raise ValueError("PPI needs at least 2 answers with human ratings")
    if lam is None:
        lam = power_tuned_lambda(y, fl, fu)
    if fu.size == 0:
        lam = 0.0
    rect = y - lam * fl
    est = rect.mean() + (lam * fu.mean() if fu.size else 0.0)
    var = _var(rect) / y.size + (lam ** 2 * _var(fu) / fu.size if fu.size > 1 and lam else 0.0)
    return _interval("PPI++", est, np.sqrt(var), level, y.size, y.size + fu.size, lam,
                     df=y.size - 1)


def active_mean(f, y, labeled, pi, level: float = 0.95, lam: float | None = None) -> Estimate:
    """Active-inference estimate over all N judged answers: f (judge), y (human; ignored where not labelled),
    labeled (bool), pi (the labelling probability each answer had when the sample was drawn)."""
    f, pi = np.asarray(f, float), np.asarray(pi, float)
    xi = np.asarray(labeled, bool)
    if not (f.shape == pi.shape == xi.shape == np.shape(y)):
        raise ValueError("f, y, labeled and pi must have one entry per judged answer")
    if np.any(pi[xi] <= 0) or np.any(pi > 1) or np.any(pi < 0):
        raise ValueError("sampling probabilities must lie in (0, 1] for every labelled answer")
    w = np.where(xi, 1.0 / np.where(pi > 0, pi, 1.0), 0.0)
    a = np.where(xi, np.nan_to_num(np.asarray(y, float)), 0.0) * w      # unbiased for y
    b = f * (1.0 - w)                                                   # mean-zero control variate
    if lam is None:
        vb = _var(b)
        lam = float(np.clip(-np.cov(a, b)[0, 1] / vb, 0.0, 1.0)) if vb > 0 else 0.0
    z = a + lam * b
    return _interval("active PPI++", z.mean(), np.sqrt(_var(z) / z.size), level, int(xi.sum()), z.size, lam,
                     df=max(int(xi.sum()) - 1, 1))
