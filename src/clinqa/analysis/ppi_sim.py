"""Simulated judged studies with a known truth, to check the prediction-powered estimates (CI tests, and
`benchmarks/ppi_coverage.py` for the README's numbers).

Each answer has a latent quality q ~ Beta(theta c, (1 - theta) c); physicians rate it `raters` times, each rating in
the best bin with probability q (so ratings of one answer are correlated, as real ones are); the judge's probability
of the best bin is s = bias + (1 - bias) q, so the judge is lenient: its mean is theta + bias (1 - theta), off the
truth theta by a known amount. A single judge votes best bin with probability s; the "jury" judge reports s itself
(what many judges' vote share tends to).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clinqa.analysis.active import sampling_probabilities
from clinqa.analysis.ppi import active_mean, human_only, judge_only, ppi_mean


@dataclass(frozen=True)
class SimDesign:
    n_judged: int = 1000         # answers the judge rated
    n_labeled: int = 100         # answers physicians rated (budget)
    theta: float = 0.7           # true best-bin share
    concentration: float = 2.0
    raters: int = 3
    bias: float = 0.3            # judge leniency; judge mean = theta + bias (1 - theta)
    jury: bool = False           # judge output: a probability (True) or one 0/1 vote (False)

    @property
    def judge_mean(self) -> float:
        return self.theta + self.bias * (1 - self.theta)


def draw(d: SimDesign, rng: np.random.Generator):
    """Per answer: y (human best-bin share over `raters` ratings), f (judge prediction)."""
    q = rng.beta(d.theta * d.concentration, (1 - d.theta) * d.concentration, d.n_judged)
    y = rng.binomial(d.raters, q) / d.raters
    s = d.bias + (1 - d.bias) * q
    f = s if d.jury else (rng.random(d.n_judged) < s).astype(float)
    return y, f


def one_study(d: SimDesign, rng: np.random.Generator) -> dict:
    """Uniform labelled subset: human-only, judge-only and PPI++ estimates."""
    y, f = draw(d, rng)
    lab = rng.permutation(d.n_judged)[: d.n_labeled]
    mask = np.zeros(d.n_judged, bool)
    mask[lab] = True
    return {"human-only": human_only(y[mask]), "judge-only": judge_only(f),
            "PPI++": ppi_mean(y[mask], f[mask], f[~mask])}


def active_vs_uniform(d: SimDesign, rng: np.random.Generator, mix: float = 0.2) -> dict:
    """Equal expected budget: Bernoulli sampling with uniform vs uncertainty-proportional probabilities."""
    y, f = draw(d, rng)
    out = {}
    for name, pi in (("uniform", np.full(d.n_judged, d.n_labeled / d.n_judged)),
                     ("active", sampling_probabilities(f, d.n_labeled, mix))):
        xi = rng.random(d.n_judged) < pi
        out[name] = active_mean(f, np.where(xi, y, np.nan), xi, pi)
    return out


def summarize(d: SimDesign, n_studies: int, seed: int = 0, active: bool = False) -> dict:
    """{method: (coverage of the truth, mean interval width)} over simulated studies."""
    rng = np.random.default_rng(seed)
    runs = [(active_vs_uniform if active else one_study)(d, rng) for _ in range(n_studies)]
    return {m: (float(np.mean([r[m].low <= d.theta <= r[m].high for r in runs])),
                float(np.mean([r[m].width for r in runs]))) for m in runs[0]}
