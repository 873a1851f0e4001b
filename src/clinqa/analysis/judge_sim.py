"""A simulated LLM judge for a simulated (or real) study, with known behaviour: for tests, the README example and
`clinqa judge simulate`. The judge is one more rater of every answer who, with probability 1 - `skill`, replaces
that rating by the best bin (probability `leniency`) or a random scale value: a noisy, lenient physician.
Physicians can then be kept on a share of the answers only, so that the judge alone covers the rest (the setting
prediction-powered estimates are for)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from clinqa.analysis.judge import is_judge
from clinqa.analysis.simulate import StudyDesign, simulate_study
from clinqa.analysis.table import Rating
from clinqa.data.rubric import Rubric, load_rubric


def simulated_judged_study(design: StudyDesign | None = None, rubric: Rubric | None = None, seed: int = 0,
                           name: str = "auto:simulated-judge", skill: float = 0.7,
                           leniency: float = 0.5) -> list[Rating]:
    """A simulated study (`clinqa.analysis.simulate`) with one more rater per answer, who becomes the judge: with
    probability `skill` the judge keeps that extra rater's value (it rates like a physician), otherwise it says the
    best bin with probability `leniency` and a random scale value otherwise (a lenient judge)."""
    d, rb = design or StudyDesign(), rubric or load_rubric()
    d = replace(d, physician_raters=d.physician_raters + 1, lay_raters=d.lay_raters + 1,
                pairwise_raters=d.pairwise_raters + 1)
    ratings = simulate_study(d, rb, seed)
    rng = np.random.default_rng(seed + 1)
    last = {}
    for i, r in enumerate(ratings):
        last[(r.kind, r.item, r.axis)] = i
    scales = {(k, a.key): a.scale for k in ("physician", "lay", "pairwise") for a in rb.axes(k)}
    out = list(ratings)
    for (kind, _, axis), i in last.items():
        scale, r = scales[(kind, axis)], ratings[i]
        value = r.value
        if rng.random() >= skill:
            value = scale[0] if rng.random() < leniency else scale[int(rng.integers(len(scale)))]
        out[i] = replace(r, rater=name, value=value)
    return out


def keep_humans_on(ratings: list[Rating], share: float, seed: int = 0) -> list[Rating]:
    """Human ratings on a uniform random `share` of the answers (judge ratings, rater "auto:..." or "jury:...", kept
    on all)."""
    rng = np.random.default_rng(seed)
    items = sorted({r.item for r in ratings})
    kept = {i for i in items if rng.random() < share}
    return [r for r in ratings if is_judge(r) or r.item in kept]
