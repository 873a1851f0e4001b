"""Import ratings made elsewhere as a finished pairwise study: the raters (created as physicians who cannot log in:
a random password nobody sees), the items, the nine axes and every rating, submitted through the same code path as
the rating app (`actions.submit`), so `clinqa rate export` and `clinqa rate analyze` treat it as any finished study.

The sides are kept as they were shown to the raters (answer A first), so "Answer 1" keeps its meaning. Today's one
source format is OLAPH's expert pairwise ratings (`clinqa.data.loaders.olaph`); its recorded GPT-4 verdicts are a
judge, not a rater, and are left out here (`clinqa judge import-olaph` writes them as judge ratings).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from clinqa.data.loaders.olaph import AXES, EXPERTS, SOURCE_A, SOURCE_B, VALUES, PairwiseItem
from clinqa.rating.actions import Incomplete, submit
from clinqa.rating.auth import create_user
from clinqa.rating.db import assignments, items, users
from clinqa.rating.study import StudyConfig, create_study


@dataclass
class ImportResult:
    study_id: int
    raters: list[str]
    items: int
    submitted: int
    incomplete: list[str]          # "rater on qid: missing axes" (kept as drafts)


def _ensure_rater(engine: Engine, name: str) -> None:
    with engine.connect() as c:
        row = c.execute(select(users.c.pool).where(users.c.username == name)).first()
    if row is None:
        create_user(engine, name, secrets.token_urlsafe(24), "physician")
    elif row.pool != "physician":
        raise ValueError(f"user {name!r} exists in the {row.pool} pool; pairwise raters must be physicians")


def import_pairwise(engine: Engine, name: str, pairs: list[PairwiseItem], raters: dict[str, str] | None = None,
                    sources: tuple[str, str] = (SOURCE_A, SOURCE_B)) -> ImportResult:
    """A finished pairwise study named `name` from `pairs`; `raters` maps each rating field to a user name (default:
    the three OLAPH experts as expert_1..3)."""
    raters = raters or {f: f.replace("medical_", "") for f in EXPERTS}
    for user in raters.values():
        _ensure_rater(engine, user)
    answers = [dict(qid=p.qid, question=p.question, answer_id=f"{p.qid}:{src}", text=text, source=src)
               for p in pairs for src, text in zip(sources, (p.answer_a, p.answer_b))]
    cfg = StudyConfig(name, list(sources), physician_replication=0, pairwise_replication=len(raters),
                      physician_raters=sorted(raters.values()))
    sid = create_study(engine, cfg, answers)
    with engine.begin() as c:                      # shown as recorded: answer A first for every rater
        c.execute(update(assignments).where(assignments.c.study_id == sid).values(flip=False))
        rows = c.execute(select(assignments.c.id, items.c.qid, users.c.username)
                         .join(items, items.c.id == assignments.c.item_id)
                         .join(users, users.c.id == assignments.c.rater_id)
                         .where(assignments.c.study_id == sid)).all()
        uid = dict(c.execute(select(users.c.username, users.c.id)).all())
    by_qid = {p.qid: p for p in pairs}
    field_of = {u: f for f, u in raters.items()}
    submitted, incomplete = 0, []
    for aid, qid, user in rows:
        values = by_qid[qid].verdicts.get(field_of[user], [])
        form = {axis: VALUES[v] for (_, axis), v in zip(AXES, values) if v is not None}
        try:
            submit(engine, aid, uid[user], form)
            submitted += 1
        except Incomplete as e:
            incomplete.append(f"{user} on {qid}: {', '.join(e.missing)}")
    return ImportResult(sid, sorted(raters.values()), len(pairs), submitted, incomplete)
