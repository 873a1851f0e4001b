"""A simulated rating study with known truth, for tests, for the README example and for checking the statistics:
every answer has its own latent quality (Beta-distributed around its source's true best-bin share, so ratings of one
answer are correlated as real ones are), raters draw from it, pairs are shown on randomised sides."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from clinqa.analysis.table import Rating
from clinqa.data.rubric import Rubric, load_rubric

# true best-bin share per (source, axis); axes not listed get DEFAULT_BEST for every source
TRUTH = {
    "physician": {"consensus": 0.78, "missing_content": 0.85, "intent": 0.80, "helpfulness": 0.25},
    "model": {"consensus": 0.94, "missing_content": 0.65, "intent": 0.92, "helpfulness": 0.45},
}
DEFAULT_BEST = 0.92
# pairwise: probability a rating chooses (model, physician, tie); axes not listed are (0.2, 0.2, 0.6)
PAIR_TRUTH = {"better_consensus": (0.55, 0.25, 0.20), "better_reasoning": (0.50, 0.25, 0.25),
              "omits_more": (0.35, 0.20, 0.45)}
PAIR_DEFAULT = (0.2, 0.2, 0.6)


@dataclass
class StudyDesign:
    n_questions: int = 140
    sources: tuple[str, ...] = ("model", "physician")
    physician_raters: int = 3        # ratings per answer (the paper triple-rated MultiMedQA 140)
    lay_raters: int = 2
    pairwise_raters: int = 3
    physician_pool: int = 8
    lay_pool: int = 6
    concentration: float = 6.0       # Beta(p c, (1 - p) c) per answer: lower means more answer-to-answer spread
    truth: dict = field(default_factory=lambda: TRUTH)
    pair_truth: dict = field(default_factory=lambda: PAIR_TRUTH)


def true_best(design: StudyDesign, source: str, axis: str) -> float:
    return design.truth.get(source, {}).get(axis, DEFAULT_BEST)


def _rate(rng, p_answer: float, scale: tuple[str, ...]) -> str:
    if rng.random() < p_answer:
        return scale[0]
    return scale[1 + int(rng.integers(0, len(scale) - 1))]


def simulate_study(design: StudyDesign | None = None, rubric: Rubric | None = None, seed: int = 0) -> list[Rating]:
    d, rb = design or StudyDesign(), rubric or load_rubric()
    rng = np.random.default_rng(seed)
    out: list[Rating] = []
    for kind, per, pool in (("physician", d.physician_raters, d.physician_pool), ("lay", d.lay_raters, d.lay_pool)):
        for q in range(d.n_questions):
            qid = f"q{q:04d}"
            for source in d.sources:
                item = f"{source}:{qid}"
                raters = rng.choice(pool, size=per, replace=False)
                for axis in rb.axes(kind):
                    p = true_best(d, source, axis.key)
                    quality = rng.beta(p * d.concentration, (1 - p) * d.concentration)
                    for r in raters:
                        out.append(Rating(kind, item, qid, source, f"{kind}{r}", axis.key,
                                          _rate(rng, quality, axis.scale), study="simulated"))
    a, b = d.sources[0], d.sources[1]
    for q in range(d.n_questions):
        qid = f"q{q:04d}"
        for r in rng.choice(d.physician_pool, size=d.pairwise_raters, replace=False):
            first, second = (a, b) if rng.random() < 0.5 else (b, a)     # sides randomised per rater and item
            for axis in rb.axes("pairwise"):
                pa, pb, pt = d.pair_truth.get(axis.key, PAIR_DEFAULT)
                chosen = rng.choice(3, p=[pa, pb, pt])
                value = "Tie" if chosen == 2 else ("Answer 1" if (a if chosen == 0 else b) == first else "Answer 2")
                out.append(Rating("pairwise", f"{qid}:{a}|{b}", qid, first, f"physician{r}", axis.key,
                                  value, other_source=second, study="simulated"))
    return out
