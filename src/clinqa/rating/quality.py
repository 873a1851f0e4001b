"""Rater quality control: gold items (known expected ratings, mixed into a rater's queue and scored) and the
qualification phase (items a rater must rate, and pass, before any real item of the study is shown to them).

A rater's qualification in a study is `none` (the study has none), `pending` (qualification items left), `passed` or
`failed` (score below the study's `qualification_threshold`). Scores are the share of (item, axis) answers equal to the
expected value. Feedback (expected vs given, and the item's explanation) is shown once the phase is submitted."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.engine import Engine

from clinqa.rating.db import assignments, items, ratings, studies

PHASES = ("gold", "qualification")
DEFAULT_THRESHOLD = 0.8


@dataclass
class Qualification:
    status: str                                   # none | pending | passed | failed
    score: float | None = None
    threshold: float = DEFAULT_THRESHOLD
    feedback: list[dict] = field(default_factory=list)   # per item: question, feedback, [(axis, expected, given)]


def validate_gold(rows: list[dict], rubric) -> list[dict]:
    """Check gold / qualification items: kind physician or lay, phase gold or qualification, expected values on the
    rubric's scale. Returns them ready for the items table; ValueError naming the row and field otherwise."""
    out = []
    for i, g in enumerate(rows):
        where = f"gold item {i + 1} ({g.get('qid', '?')})"
        kind, phase = g.get("kind", "physician"), g.get("phase", "gold")
        if kind not in ("physician", "lay"):
            raise ValueError(f"{where}: kind must be physician or lay, not {kind!r}")
        if phase not in PHASES:
            raise ValueError(f"{where}: phase must be gold or qualification, not {phase!r}")
        for k in ("qid", "question", "text"):
            if not isinstance(g.get(k), str) or not g[k].strip():
                raise ValueError(f"{where}: field {k!r} is missing")
        scales = {a.key: a.scale for a in rubric.axes(kind)}
        expected = g.get("expected")
        if not isinstance(expected, dict) or not expected:
            raise ValueError(f"{where}: field 'expected' must map axes to expected values")
        for axis, value in expected.items():
            if axis not in scales:
                raise ValueError(f"{where}: expected: no {kind} axis {axis!r}")
            if value not in scales[axis]:
                raise ValueError(f"{where}: expected: axis {axis!r} has no value {value!r}")
        out.append(dict(kind=kind, qid=g["qid"][:200], question=g["question"], answer_a=f"gold:{g['qid']}"[:300],
                        text_a=g["text"], source_a="gold",
                        gold={"phase": phase, "expected": expected, "feedback": str(g.get("feedback", ""))}))
    return out


def score(expected: dict, given: dict) -> tuple[int, int]:
    """(matches, compared) over the expected axes."""
    return sum(given.get(k) == v for k, v in expected.items()), len(expected)


def _given(c, assignment_ids: list[int]) -> dict[int, dict[str, str]]:
    out: dict[int, dict[str, str]] = {}
    if assignment_ids:
        for r in c.execute(select(ratings.c.assignment_id, ratings.c.axis, ratings.c.value)
                           .where(ratings.c.assignment_id.in_(assignment_ids))):
            out.setdefault(r.assignment_id, {})[r.axis] = r.value
    return out


def qualification(engine: Engine, study_id: int, rater_id: int) -> Qualification:
    with engine.connect() as c:
        cfg = c.execute(select(studies.c.config).where(studies.c.id == study_id)).scalar_one_or_none() or {}
        rows = [r for r in c.execute(select(assignments.c.id, assignments.c.submitted, items.c.question, items.c.gold)
                                     .join(items, items.c.id == assignments.c.item_id)
                                     .where(assignments.c.study_id == study_id, assignments.c.rater_id == rater_id,
                                            items.c.gold.isnot(None))).all()
                if (r.gold or {}).get("phase") == "qualification"]
        given = _given(c, [r.id for r in rows if r.submitted])
    threshold = float(cfg.get("qualification_threshold", DEFAULT_THRESHOLD))
    if not rows:
        return Qualification("none", threshold=threshold)
    if any(r.submitted is None for r in rows):
        return Qualification("pending", threshold=threshold)
    hits = total = 0
    feedback = []
    for r in rows:
        exp, got = r.gold["expected"], given.get(r.id, {})
        h, t = score(exp, got)
        hits, total = hits + h, total + t
        feedback.append(dict(question=r.question, feedback=r.gold.get("feedback", ""),
                             axes=[(k, v, got.get(k, "")) for k, v in exp.items()]))
    s = hits / total if total else 0.0
    return Qualification("passed" if s >= threshold else "failed", s, threshold, feedback)


def hidden_studies(engine: Engine, rater_id: int) -> dict[int, Qualification]:
    """Studies whose real (and gold) items this rater may not see yet: qualification pending or failed."""
    with engine.connect() as c:
        sids = sorted({r.study_id for r in c.execute(
            select(assignments.c.study_id, items.c.gold).join(items, items.c.id == assignments.c.item_id)
            .where(assignments.c.rater_id == rater_id, items.c.gold.isnot(None))) if (r.gold or {}).get("phase")
            == "qualification"})
    out = {}
    for sid in sids:
        q = qualification(engine, sid, rater_id)
        if q.status in ("pending", "failed"):
            out[sid] = q
    return out


def is_qualification(gold) -> bool:
    return bool(gold) and gold.get("phase") == "qualification"
