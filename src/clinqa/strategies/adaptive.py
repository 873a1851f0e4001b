"""Adaptive sampling for self-consistency and Ensemble Refinement: draw samples in small batches and stop early.

Rules (checked after every batch; the budget N is never exceeded):
- `certain`: stop once the leader cannot be overtaken by the samples still left in the budget (the full-budget vote
  is then guaranteed to be the same answer).
- `beta` (Adaptive-Consistency, Aggarwal et al. 2023): with v1, v2 the top two counts, stop once
  P(p1 > p2) = P(X > 1/2), X ~ Beta(v1 + 1, v2 + 1), reaches `confidence` (default 0.95); `certain` also stops it.
- `off`: draw in the same batches but always use the full budget (the reference for measuring agreement).
Each batch is its own cached stage (`<stage>.b<i>`) with its own derived seed, so an interrupted run resumes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Callable

from scipy import stats


@dataclass(frozen=True)
class AdaptiveRule:
    batch: int = 4
    rule: str = "beta"
    confidence: float = 0.95

    def __post_init__(self):
        if self.rule not in ("beta", "certain", "off"):
            raise ValueError(f"unknown stopping rule {self.rule!r}; 'beta', 'certain' or 'off'")
        if self.batch < 1 or not 0.5 < self.confidence < 1:
            raise ValueError("adaptive batch must be >= 1 and confidence in (0.5, 1)")


def top_two(answers) -> tuple[int, int]:
    counts = sorted(Counter(a for a in answers if a is not None).values(), reverse=True) + [0, 0]
    return counts[0], counts[1]


def leader_certain(answers, remaining: int) -> bool:
    v1, v2 = top_two(answers)
    return v1 > 0 and v1 - v2 > remaining


def beta_confident(answers, confidence: float) -> bool:
    v1, v2 = top_two(answers)
    return v1 > 0 and float(stats.beta.sf(0.5, v1 + 1, v2 + 1)) >= confidence


def should_stop(answers, budget: int, rule: AdaptiveRule) -> bool:
    remaining = budget - len(answers)
    if remaining <= 0:
        return True
    if rule.rule == "off":
        return False
    if leader_certain(answers, remaining):
        return True
    return rule.rule == "beta" and beta_confident(answers, rule.confidence)


def draw_adaptively(draw: Callable[[str, int], list], answer_of: Callable, stage: str, budget: int,
                    rule: AdaptiveRule) -> list:
    """Call `draw(batch_stage, k)` for batches of up to `rule.batch` samples until `should_stop`; return all samples."""
    samples: list = []
    i = 0
    while len(samples) < budget:
        k = min(rule.batch, budget - len(samples))
        samples += draw(f"{stage}.b{i}", k)
        i += 1
        if should_stop([answer_of(s) for s in samples], budget, rule):
            break
    return samples
