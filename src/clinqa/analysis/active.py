"""Spend physicians where it pays: choose which judged answers go to human raters under a budget, favouring those where
the judge is least certain (or several judges disagree), and record each answer's sampling probability so that the
prediction-powered estimate stays unbiased (`clinqa.analysis.ppi.active_mean`).

Uncertainty of an answer is sqrt(p (1 - p)) where p is the judge's probability of the best bin: the share of jury
votes (several judges), of repeated grades, or a calibrated score. The variance-optimal labelling probability is
proportional to the expected squared error of the judge, which for a calibrated p is p (1 - p); its square root is
what Zrnic & Candes (2024) use. A floor (`mix`, a share of uniform sampling) keeps every probability away from 0 so
that a judge confidently wrong on some answers cannot blow up the variance.

The design file (JSONL, one line per judged answer: answer_id, probability, selected) is what a study builder
records; `clinqa rate analyze --design FILE` reads it back.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from clinqa.analysis.judge import is_judge
from clinqa.analysis.table import ratings_from_store
from clinqa.data.errors import DataError
from clinqa.data.loaders.common import read_jsonl
from clinqa.data.rubric import load_rubric
from clinqa.eval.store import Store


def uncertainty(p) -> np.ndarray:
    p = np.clip(np.asarray(p, float), 0.0, 1.0)
    return np.sqrt(p * (1 - p))


def sampling_probabilities(scores, budget: float, mix: float = 0.2) -> np.ndarray:
    """Probabilities summing to `budget` (expected number of answers sent to humans), proportional to the scores'
    uncertainty mixed with a uniform share `mix`, each capped at 1."""
    u = uncertainty(scores)
    n = u.size
    if not 0 < budget <= n:
        raise ValueError(f"budget must be between 1 and the number of judged answers ({n}), got {budget}")
    base = u / u.mean() if u.mean() > 0 else np.ones(n)
    w = mix + (1 - mix) * base
    pi = np.zeros(n)
    free = np.ones(n, bool)
    left = float(budget)
    for _ in range(n):                      # water-filling: cap at 1, spread the rest over the others
        pi[free] = left * w[free] / w[free].sum()
        over = free & (pi > 1)
        if not over.any():
            break
        pi[over] = 1.0
        free &= ~over
        left = budget - (~free).sum()
    return pi


def select(ids, scores, budget: float, seed: int = 0, mix: float = 0.2, uniform: bool = False) -> list[dict]:
    """Poisson (independent Bernoulli) sampling: each answer is selected with its own probability."""
    ids = list(ids)
    pi = np.full(len(ids), budget / len(ids)) if uniform else sampling_probabilities(scores, budget, mix)
    draw = np.random.default_rng(seed).random(len(ids)) < pi
    return [dict(answer_id=i, probability=float(p), selected=bool(s)) for i, p, s in zip(ids, pi, draw)]


def write_design(rows: list[dict], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def read_design(path: str | Path) -> dict[str, tuple[float, bool]]:
    """{answer_id: (probability, selected)}; a bad line raises DataError naming the file, line and field."""
    path = Path(path)
    if not path.exists():
        raise DataError(path, "no such file")
    out = {}
    for i, row in read_jsonl(path):
        for k in ("answer_id", "probability", "selected"):
            if k not in row:
                raise DataError(path, "missing field", line=i, field=k)
        p = row["probability"]
        if not isinstance(p, (int, float)) or not 0 < p <= 1:
            raise DataError(path, f"probability must be in (0, 1], got {p!r}", line=i, field="probability")
        out[str(row["answer_id"])] = (float(p), bool(row["selected"]))
    return out


def select_for_rating(store: Store, budget: int, kind: str = "physician", axes: set[str] | None = None,
                      mix: float = 0.2, uniform: bool = False, seed: int = 0) -> list[dict]:
    """The design rows for answers in `store` whose judges' best-bin votes (on `axes`, default all of the rubric's)
    are least certain: each judge's own votes count (a jury's combined rating would count them twice)."""
    ratings = [r for r in ratings_from_store(store) if is_judge(r) and not r.rater.startswith("jury:") and r.kind == kind]
    best = {a.key: a.best for a in load_rubric().axes(kind)}
    keep = axes or set(best)
    votes: dict[str, list[float]] = {}
    for r in ratings:
        if r.axis in keep and r.axis in best:
            votes.setdefault(r.item, []).append(float(r.value == best[r.axis]))
    if not votes:
        raise ValueError(f"{store.dir}: no {kind} judge ratings (run `clinqa autorate` or `clinqa judge autorate` first)")
    ids = sorted(votes)
    return select(ids, np.array([np.mean(votes[i]) for i in ids]), min(budget, len(ids)), seed, mix, uniform)
