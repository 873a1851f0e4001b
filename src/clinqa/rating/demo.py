"""The demo study `clinqa rate serve` starts with on an empty database: an admin, two physician raters and one lay
rater with random passwords (printed once), and a study over stored answers — a run directory from `clinqa answer`,
or the eight short demo answers shipped in `resources/demo/answers.jsonl` (written by us: 4 questions x 2 sources)."""

from __future__ import annotations

import json
import secrets
from importlib import resources

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from clinqa.rating.auth import create_user
from clinqa.rating.db import users
from clinqa.rating.study import StudyConfig, create_study

DEMO_USERS = (("admin", "physician", True), ("doctor1", "physician", False), ("doctor2", "physician", False),
              ("lay1", "lay", False))


def demo_answers() -> list[dict]:
    text = (resources.files("clinqa") / "resources" / "demo" / "answers.jsonl").read_text()
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [dict(r, answer_id=f"{r['source']}:{r['qid']}", dataset="demo") for r in rows]


def ensure_demo(engine: Engine, answers: list[dict] | None = None) -> dict[str, str]:
    """On an empty database: create the demo users and study; returns {user: password} (empty if not empty)."""
    with engine.connect() as c:
        if c.execute(select(func.count()).select_from(users)).scalar_one():
            return {}
    logins = {}
    for name, pool, admin in DEMO_USERS:
        logins[name] = secrets.token_urlsafe(9)
        create_user(engine, name, logins[name], pool, admin)
    answers = answers or demo_answers()
    sources = sorted({a["source"] for a in answers})[:2]
    create_study(engine, StudyConfig("demo", sources, physician_replication=2, lay_replication=1,
                                     pairwise_replication=1 if len(sources) == 2 else 0, overlap=1), answers)
    return logins
