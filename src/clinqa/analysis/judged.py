"""Judged numbers with valid intervals: per axis and answer source, the best-bin share estimated three ways from a
study that has judge ratings and human ratings — human-only (the answers physicians rated), judge-only (every judged
answer; biased by whatever bias the judge has) and prediction-powered (both; `clinqa.analysis.ppi`).

Answers with human ratings but no judge rating are left out of all three (PPI needs the judge's prediction on them).
With a design file (`clinqa.analysis.active`) the labelled answers were drawn with recorded probabilities and the
active estimator is used; without one the labelled answers are taken to be a uniform random subset of the judged
ones (true when every judged answer was rated, or the study sampled uniformly). With a design, only answers it
selected count as labelled; a selected answer nobody rated counts as unlabelled, which is unbiased only if raters
skipped answers at random (the report shows how many were rated).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace

import numpy as np

from clinqa.analysis.judge import split_judge
from clinqa.analysis.ppi import Estimate, active_mean, human_only, judge_only, ppi_mean
from clinqa.analysis.table import Rating
from clinqa.data.rubric import Axis


@dataclass
class JudgedRow:
    kind: str
    axis: str
    source: str
    judge: str
    human: Estimate
    judge_only: Estimate
    ppi: Estimate


def judged_estimates(ratings: list[Rating], axes: tuple[Axis, ...], kind: str,
                     design: dict[str, tuple[float, bool]] | None = None) -> list[JudgedRow]:
    human, judges = split_judge([r for r in ratings if r.kind == kind])
    hum = defaultdict(list)                                  # (axis, source, item) -> [1/0 best bin]
    best = {a.key: a.best for a in axes}
    for r in human:
        if r.axis in best:
            hum[(r.axis, r.source, r.item)].append(r.value == best[r.axis])
    jud = defaultdict(dict)                                  # judge -> (axis, source, item) -> 1/0
    for r in judges:
        if r.axis in best:
            jud[r.rater][(r.axis, r.source, r.item)] = float(r.value == best[r.axis])
    rows = []
    for judge in sorted(jud):
        for axis in axes:
            for source in sorted({k[1] for k in jud[judge] if k[0] == axis.key}):
                items = sorted(k[2] for k in jud[judge] if k[0] == axis.key and k[1] == source)
                f = np.array([jud[judge][(axis.key, source, i)] for i in items])
                lab = np.array([(axis.key, source, i) in hum for i in items], bool)
                y = np.array([np.mean(hum[(axis.key, source, i)]) if m else np.nan for i, m in zip(items, lab)])
                if lab.sum() < 2:
                    continue
                h = human_only(y[lab])
                if design is not None:
                    pi = np.array([design.get(i, (np.nan, False))[0] for i in items])
                    if np.isnan(pi).any():
                        missing = items[int(np.flatnonzero(np.isnan(pi))[0])]
                        raise ValueError(f"design file has no sampling probability for answer {missing!r}")
                    # only the answers the design selected count as labelled (extra human ratings are ignored)
                    sel = lab & np.array([design[i][1] for i in items], bool)
                    ppi = active_mean(f, y, sel, pi)
                    # unequal probabilities: the human-only estimate must be inverse-probability weighted too
                    h = replace(active_mean(f, y, sel, pi, lam=0.0), method="human-only (weighted)")
                else:
                    ppi = ppi_mean(y[lab], f[lab], f[~lab])
                rows.append(JudgedRow(kind, axis.key, source, judge, h, judge_only(f), ppi))
    return rows
