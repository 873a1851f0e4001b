"""A jury of LLM graders: `clinqa autorate` run with each grader model, then one combined rating per answer stored as
rater "jury:A+B+...". Categorical axes (and pairwise choices) take the majority, ties going to the first-listed judge
that voted for a tied value; ordinal axes (three or more ordered values, except consensus) take the mean position on
the scale, rounded half away from the best bin (a tie between two neighbouring values goes to the worse one). Only
judges whose output parsed vote; an answer no judge could rate gets no jury rating. Pairwise votes are counted
un-blinded (which answer was chosen) and written back in the first judge's display order.

Each judge keeps its own ratings, so the judge card shows every judge and the jury side by side.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Sequence

from clinqa.analysis.judge import ordinal
from clinqa.judge.autorate import autorate
from clinqa.data.rubric import Axis, Rubric, load_rubric


def combine_values(votes: Sequence[str], axis: Axis, kind: str) -> str:
    """One value from the judges' values for one axis (votes in judge order)."""
    if ordinal(axis, kind):
        mean = sum(axis.scale.index(v) for v in votes) / len(votes)
        return axis.scale[min(int(math.floor(mean + 0.5)), len(axis.scale) - 1)]
    counts = Counter(votes)
    top = max(counts.values())
    return next(v for v in votes if counts[v] == top)


def _unblind(r: dict) -> tuple[str, dict]:
    """(key independent of display order, {axis: chosen answer id or Tie})."""
    a1, a2 = r["meta"]["answer_1"], r["meta"]["answer_2"]
    chosen = {k: (a1 if v == "Answer 1" else a2 if v == "Answer 2" else "Tie") for k, v in r["values"].items()}
    return "|".join(sorted((a1, a2))), chosen


def jury_ratings(ratings_by_judge: dict[str, list[dict]], axes: Sequence[Axis], kind: str) -> list[dict]:
    """Store rows (as `autorate` writes them) for the jury, from each judge's stored rows."""
    names = list(ratings_by_judge)
    jury = "jury:" + "+".join(n.removeprefix("auto:") for n in names)
    votes: dict[str, list[tuple[dict, dict]]] = defaultdict(list)      # key -> [(row, values)] in judge order
    for name in names:
        for r in ratings_by_judge[name]:
            if r["ok"] and r["kind"] == kind:
                key, vals = _unblind(r) if kind == "pairwise" else (r["answer_id"], r["values"])
                votes[key].append((r, vals))
    out = []
    for key, vs in votes.items():
        first = vs[0][0]
        values = {a.key: combine_values([v[a.key] for _, v in vs], a, kind) for a in axes}
        if kind == "pairwise":
            a1 = first["meta"]["answer_1"]
            values = {k: "Tie" if v == "Tie" else ("Answer 1" if v == a1 else "Answer 2") for k, v in values.items()}
        out.append(dict(rating_id=f"{jury}:{kind}:{key}", rater=jury, kind=kind, answer_id=first["answer_id"],
                        other_answer_id=first["other_answer_id"], values=values, ok=True, raw=[],
                        meta={**first["meta"], "judges": [r["rater"] for r, _ in vs]}))
    return out


def autorate_jury(store, backends: Sequence, kind: str = "physician", sources: Sequence[str] | None = None,
                  rubric: Rubric | None = None, retries: int = 3, seed: int = 0, progress=None,
                  concurrency: int | None = None) -> dict[str, list]:
    """Run every grader (resumable: each judge's done ratings are kept), then store the jury's ratings.
    Returns {rater: its ratings of this kind}, the jury last."""
    rubric = rubric or load_rubric()
    by_judge = {}
    for b in backends:
        rows = autorate(store, b, kind, sources, rubric, retries, seed,
                        progress=(lambda d, t, info, n=b.name: progress(n, d, t)) if progress else None,
                        concurrency=concurrency)
        by_judge[f"auto:{b.name}"] = rows
    rows = jury_ratings(by_judge, rubric.axes(kind), kind)
    for r in rows:
        store.save_rating(r)
    jury = "jury:" + "+".join(b.name for b in backends)
    by_judge[jury] = [r for r in store.ratings(jury) if r["kind"] == kind]    # empty when no judge could rate
    return by_judge
