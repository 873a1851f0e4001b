"""Adjudication: the (real item, axis) pairs where a study's raters disagree, and an admin's resolution of each,
stored in its own table beside the raw ratings (which never change). Re-adjudicating replaces the resolution."""

from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from clinqa.rating.auth import now
from clinqa.rating.db import adjudications, items, ratings, studies, users
from clinqa.data.rubric import rubric_from_dict

COLUMNS = ["item", "qid", "kind", "source", "axis", "value", "admin", "note", "created", "ratings"]


def _axes(engine: Engine, study_id: int) -> dict[str, dict]:
    with engine.connect() as c:
        raw = c.execute(select(studies.c.rubric).where(studies.c.id == study_id)).scalar_one_or_none()
    if raw is None:
        raise LookupError(f"no study with id {study_id}")
    rb = rubric_from_dict(raw)
    return {kind: {a.key: a for a in rb.axes(kind)} for kind in ("physician", "lay", "pairwise")}


def disagreements(engine: Engine, study_id: int) -> list[dict]:
    """Every (real item, axis) with 2+ distinct values among its ratings, with the values counted (as raters saw
    them: for pairwise items, sides differ per rater, so those are counted by chosen source) and any resolution."""
    with engine.connect() as c:
        rows = c.execute(select(ratings.c.item_id, ratings.c.axis, ratings.c.value, users.c.username, items.c.kind,
                                items.c.qid, items.c.source_a, items.c.gold)
                         .join(items, items.c.id == ratings.c.item_id).join(users, users.c.id == ratings.c.rater_id)
                         .where(ratings.c.study_id == study_id)).all()
        done = {(r.item_id, r.axis): r for r in c.execute(select(adjudications)
                                                          .where(adjudications.c.study_id == study_id))}
    per = defaultdict(list)
    for r in rows:
        if r.gold is None and r.kind != "pairwise":
            per[(r.item_id, r.axis, r.kind, r.qid, r.source_a)].append((r.username, r.value))
    axes = _axes(engine, study_id)
    out = []
    for (item, axis, kind, qid, source), given in sorted(per.items()):
        counts = Counter(v for _, v in given)
        if len(counts) < 2:
            continue
        a = axes[kind].get(axis)
        adj = done.get((item, axis))
        out.append(dict(item=item, axis=axis, label=a.label if a else axis, kind=kind, qid=qid, source=source,
                        scale=a.scale if a else tuple(counts), counts=dict(counts), raters=given,
                        resolved=adj.value if adj else "", note=adj.note if adj else "",
                        admin=adj.admin if adj else ""))
    return out


def adjudicate(engine: Engine, study_id: int, item_id: int, axis: str, value: str, admin: str, note: str = "") -> None:
    """Record (or replace) the resolution of one (item, axis); the value must be on the axis's scale."""
    with engine.connect() as c:
        item = c.execute(select(items.c.kind, items.c.gold).where(items.c.id == item_id,
                                                                  items.c.study_id == study_id)).first()
    if item is None or item.gold is not None:
        raise LookupError(f"item: no real item {item_id} in study {study_id}")
    a = _axes(engine, study_id)[item.kind].get(axis)
    if a is None:
        raise ValueError(f"axis: no {item.kind} axis {axis!r}")
    if value not in a.scale:
        raise ValueError(f"value: axis {axis!r} has no value {value!r}")
    row = dict(value=value, note=str(note).replace("\x00", "")[:2000], admin=admin, created=now())
    with engine.begin() as c:
        if c.execute(update(adjudications).where(adjudications.c.item_id == item_id, adjudications.c.axis == axis)
                     .values(**row)).rowcount:
            return
        try:
            c.execute(adjudications.insert().values(study_id=study_id, item_id=item_id, axis=axis, **row))
        except IntegrityError:          # another admin resolved it at the same moment: theirs stands
            raise ValueError(f"item {item_id} {axis}: resolved by another admin just now; reload") from None


def adjudication_rows(engine: Engine, study_id: int) -> list[dict]:
    """The resolutions as a table (item as exported: the answer id), with the ratings they resolve."""
    with engine.connect() as c:
        rows = c.execute(select(adjudications, items.c.answer_a, items.c.qid, items.c.kind, items.c.source_a)
                         .join(items, items.c.id == adjudications.c.item_id)
                         .where(adjudications.c.study_id == study_id).order_by(adjudications.c.id)).all()
    counts = {(d["item"], d["axis"]): d["counts"] for d in disagreements(engine, study_id)}
    return [dict(item=r.answer_a, qid=r.qid, kind=r.kind, source=r.source_a, axis=r.axis, value=r.value,
                 admin=r.admin, note=r.note or "", created=r.created.isoformat(),
                 ratings="; ".join(f"{v}: {n}" for v, n in counts.get((r.item_id, r.axis), {}).items()))
            for r in rows]
