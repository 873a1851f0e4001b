"""What a rater does: list their assignments, open one (never another rater's, never the answer sources), save a
draft, submit. A submission is one transaction that begins with its guard (`UPDATE ... WHERE submitted IS NULL`), so a
double submit or a second tab gets `AlreadySubmitted` instead of a duplicate or a silent overwrite, and a crash
mid-request rolls back to a consistent state.

Time on item is measured here, by the server: opening an item stamps `opened`; every draft save and the submission
add the time since (each stretch capped at `IDLE_CAP`, for a rater who walked away) to `seconds` (the opening stamp
is skipped rather than waited for when the database is busy, so that opening an item is a read). While a rater's
qualification in a study is pending or failed, that study's real and gold items do not exist for them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from clinqa.rating.auth import now
from clinqa.rating.db import assignments, items, ratings, studies, without_waiting
from clinqa.rating.quality import hidden_studies, is_qualification
from clinqa.data.rubric import Axis, rubric_from_dict

IDLE_CAP = timedelta(minutes=30)


class NotFound(LookupError):
    pass


class AlreadySubmitted(RuntimeError):
    pass


class Incomplete(ValueError):
    def __init__(self, missing: list[str]):
        self.missing = missing
        super().__init__(f"answer every axis before submitting; missing: {', '.join(missing)}")


@dataclass
class AssignmentView:
    """What the rater sees: no sources, answers in the order shown to this rater."""
    id: int
    study: str
    kind: str
    question: str
    answers: list[str]
    axes: tuple[Axis, ...]
    values: dict[str, str]
    submitted: bool
    position: int
    total: int
    qualification: bool = False


def my_assignments(engine: Engine, user_id: int) -> list[dict]:
    """The rater's items in order; a study's real and gold items only once its qualification (if any) is passed."""
    hidden = hidden_studies(engine, user_id)
    with engine.connect() as c:
        rows = c.execute(select(assignments.c.id, assignments.c.position, assignments.c.submitted,
                                assignments.c.draft_updated, items.c.kind, items.c.gold, studies.c.name,
                                studies.c.id.label("sid"))
                         .join(items, items.c.id == assignments.c.item_id)
                         .join(studies, studies.c.id == assignments.c.study_id)
                         .where(assignments.c.rater_id == user_id)
                         .order_by(studies.c.id, assignments.c.position)).all()
    return [dict(id=r.id, position=r.position, kind=r.kind, study=r.name, qualification=is_qualification(r.gold),
                 status="submitted" if r.submitted else ("draft" if r.draft_updated else "to do")) for r in rows
            if r.sid not in hidden or is_qualification(r.gold)]


def next_open(engine: Engine, user_id: int) -> int | None:
    return next((a["id"] for a in my_assignments(engine, user_id) if a["status"] != "submitted"), None)


def _row(engine: Engine, assignment_id: int, user_id: int):
    with engine.connect() as c:
        row = c.execute(select(assignments, items.c.kind, items.c.question, items.c.text_a, items.c.text_b,
                               items.c.gold, studies.c.name, studies.c.rubric)
                        .join(items, items.c.id == assignments.c.item_id)
                        .join(studies, studies.c.id == assignments.c.study_id)
                        .where(assignments.c.id == assignment_id)).first()
    if row is None or row.rater_id != user_id:     # another rater's assignment does not exist for you
        raise NotFound(f"no assignment {assignment_id}")
    if not is_qualification(row.gold) and row.study_id in hidden_studies(engine, user_id):
        raise NotFound(f"no assignment {assignment_id}")      # not before the qualification is passed
    return row


def _axes(row) -> tuple[Axis, ...]:
    return rubric_from_dict(row.rubric, f"study {row.name}").axes(row.kind)


def open_assignment(engine: Engine, assignment_id: int, user_id: int) -> AssignmentView:
    row = _row(engine, assignment_id, user_id)
    answers = [row.text_a] if row.kind != "pairwise" else ([row.text_b, row.text_a] if row.flip else [row.text_a, row.text_b])
    values = {}
    if row.submitted:
        with engine.connect() as c:
            values = {r.axis: r.value for r in c.execute(select(ratings).where(ratings.c.assignment_id == row.id))}
    elif row.draft:
        values = dict(row.draft)
    with engine.connect() as c:
        total = c.execute(select(func.count()).select_from(assignments)
                          .where(assignments.c.rater_id == user_id)).scalar_one()
    if not row.submitted:
        try:
            with without_waiting(engine) as c:      # time on item starts now (each visit); never waits for a lock
                _guarded_update(c, row.id, user_id, opened=now())
        except OperationalError:
            pass                                     # busy: the time runs from the previous opening
    return AssignmentView(row.id, row.name, row.kind, row.question, answers, _axes(row), values, bool(row.submitted),
                          row.position, total, is_qualification(row.gold))


def _timing(row) -> dict:
    """`seconds` grown by the time since the item was opened or last saved (capped), and `opened` restarted."""
    t = now()
    spent = min(t - row.opened, IDLE_CAP).total_seconds() if row.opened else 0.0
    return dict(seconds=(row.seconds or 0.0) + max(spent, 0.0), opened=t)


def _clean(row, form: dict[str, str]) -> dict[str, str]:
    """Keep only rubric axes with allowed values; an unknown value is an error, not silently dropped."""
    out = {}
    for axis in _axes(row):
        v = form.get(axis.key)
        if v in (None, ""):
            continue
        if v not in axis.scale:
            raise ValueError(f"axis {axis.key!r} has no value {v!r}")
        out[axis.key] = v
    return out


def _guarded_update(c, assignment_id: int, user_id: int, **values) -> bool:
    """Update the rater's own assignment only while it is not submitted; False if it already was."""
    return c.execute(update(assignments).where(assignments.c.id == assignment_id, assignments.c.rater_id == user_id,
                                               assignments.c.submitted.is_(None))
                     .values(**values)).rowcount == 1


def _write_draft(engine: Engine, assignment_id: int, user_id: int, values: dict[str, str], timing: dict) -> None:
    with engine.begin() as c:
        if not _guarded_update(c, assignment_id, user_id, draft=values, draft_updated=now(), **timing):
            raise AlreadySubmitted("this item was already submitted; drafts can no longer change it")


def save_draft(engine: Engine, assignment_id: int, user_id: int, form: dict[str, str]) -> dict[str, str]:
    row = _row(engine, assignment_id, user_id)
    values = _clean(row, form)
    _write_draft(engine, assignment_id, user_id, values, _timing(row))
    return values


def submit(engine: Engine, assignment_id: int, user_id: int, form: dict[str, str]) -> None:
    row = _row(engine, assignment_id, user_id)
    values = _clean(row, form)
    missing = [a.label for a in _axes(row) if a.key not in values]
    if missing:
        _write_draft(engine, assignment_id, user_id, values, _timing(row))     # keep what was answered
        raise Incomplete(missing)
    timing = _timing(row)
    t = timing["opened"]
    with engine.begin() as c:
        if not _guarded_update(c, assignment_id, user_id, submitted=t, draft=values, draft_updated=t, **timing):
            raise AlreadySubmitted("this item was already submitted")
        c.execute(insert(ratings), [dict(assignment_id=assignment_id, study_id=row.study_id, item_id=row.item_id,
                                         rater_id=user_id, axis=k, value=v, created=t) for k, v in values.items()])
