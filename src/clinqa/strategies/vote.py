"""Plurality vote over extracted answers. Unparseable samples (None) do not vote.

Ties go to the tied answer that appeared first among the samples, so the result is deterministic for a given set.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable


def tally(answers: Iterable[str | None]) -> dict[str, int]:
    return dict(Counter(a for a in answers if a is not None))


def plurality(answers: Iterable[str | None]) -> str | None:
    answers = list(answers)
    counts = tally(answers)
    if not counts:
        return None
    top = max(counts.values())
    return next(a for a in answers if a is not None and counts[a] == top)
