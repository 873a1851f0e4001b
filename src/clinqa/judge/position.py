"""Position bias of a pairwise grader, by asking it again: each pair graded as A|B and B|A; the share of axes whose
un-blinded choice survives the swap, and the share of non-tie choices that picked "Answer 1" (50% = no bias)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from clinqa.data.rubric import Axis
from clinqa.judge.autorate import grade


def position_swap(backend, axes: tuple[Axis, ...], pairs: list[tuple[str, str, str]], seed: int = 0,
                  retries: int = 1) -> dict:
    """Grade each (question, answer A, answer B) as A|B and B|A. Returns {axis: share consistent}, plus "parsed"
    (pairs where both orders parsed) and "first" (share of non-tie choices that picked Answer 1)."""
    same, first, parsed = defaultdict(list), [], 0
    for i, (q, a, b) in enumerate(pairs):
        g1 = grade(backend, "pairwise", axes, q, [a, b], seed=seed + i, retries=retries)
        g2 = grade(backend, "pairwise", axes, q, [b, a], seed=seed + i, retries=retries)
        if g1.values is None or g2.values is None:
            continue
        parsed += 1
        swap = {"Answer 1": "Answer 2", "Answer 2": "Answer 1", "Tie": "Tie"}
        for ax in axes:
            v1, v2 = g1.values[ax.key], g2.values[ax.key]
            same[ax.key].append(v1 == swap[v2])
            first += [v == "Answer 1" for v in (v1, v2) if v != "Tie"]
    res = {k: float(np.mean(v)) for k, v in same.items()}
    res.update(parsed=parsed, n=len(pairs), first=float(np.mean(first)) if first else float("nan"))
    return res
