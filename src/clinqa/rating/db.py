"""The rating study database: SQLAlchemy Core tables, SQLite by default and PostgreSQL through the same URL.

- `users`: raters and admins (argon2 password hashes), each rater in one pool (physician or lay); a disabled user
  cannot log in.
- `sessions`: login sessions (a hash of the cookie token), with expiry and the session's CSRF token.
- `studies`: a study's configuration and the rubric JSON it was created with (frozen).
- `items`: what gets rated: one answer (independent rating) or two answers to one question (pairwise).
- `assignments`: item x rater, with the side randomisation of pairwise items (`flip`) and a draft.
- `ratings`: one row per (assignment, axis), written once, in the same transaction that marks the assignment
  submitted; a unique constraint makes a duplicate impossible even if the guard were bypassed.
- `login_failures`: failed logins (user name and client address), for throttling.
- `adjudications`: an admin's resolution of a disagreement (item x axis), stored beside, never over, the ratings.

The schema is versioned with alembic (`clinqa.data.migrate`, history `rating` in `resources/migrations/rating/`) and
created or migrated once, under a lock (SQLite: an IMMEDIATE transaction; PostgreSQL: an advisory lock), so that
several processes opening a new database at once (`clinqa rate add-user` run in parallel) do not race to create it.
Locks: SQLite runs in WAL mode, so reads never wait for a writer; a write waits at most `lock_timeout` for the lock
(then OperationalError: the app answers 503 with Retry-After and the page retries); `without_waiting` is for writes
that may be skipped (a session's sliding expiry, an item's opening time), which never wait at all.

Items carry `gold` (null for real items; else {"phase": "gold" | "qualification", "expected": {axis: value},
"feedback": text}); assignments carry `opened` / `seconds` (time on item, measured by the server). Databases made
before these columns existed are migrated on open (columns and tables added, rows kept), never silently rebuilt; one
made before alembic is stamped at the revision whose columns it has (`_baseline`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

from sqlalchemy import (JSON, Boolean, Column, DateTime, Float, ForeignKey, Integer, MetaData, String, Table, Text,
                        UniqueConstraint, create_engine, event, inspect, text)
from sqlalchemy.engine import Connection, Engine

from clinqa.data.errors import DataError
from clinqa.data.migrate import upgrade
from clinqa.data.sqlite_wal import set_wal

meta = MetaData()
users = Table("users", meta, Column("id", Integer, primary_key=True), Column("username", String(80), unique=True,
                                                                          nullable=False),
              Column("pool", String(20), nullable=False), Column("is_admin", Boolean, default=False),
              Column("password_hash", String(200), nullable=False), Column("created", DateTime),
              Column("disabled", Boolean, default=False))
sessions = Table("sessions", meta, Column("token_hash", String(64), primary_key=True),
                 Column("user_id", Integer, ForeignKey("users.id"), nullable=False), Column("csrf", String(64)),
                 Column("expires", DateTime, nullable=False))
studies = Table("studies", meta, Column("id", Integer, primary_key=True), Column("name", String(120), unique=True),
                Column("config", JSON), Column("rubric", JSON), Column("created", DateTime))
items = Table("items", meta, Column("id", Integer, primary_key=True),
              Column("study_id", Integer, ForeignKey("studies.id"), nullable=False, index=True),
              Column("kind", String(20), nullable=False), Column("qid", String(200)), Column("question", Text),
              Column("answer_a", String(300)), Column("text_a", Text), Column("source_a", String(120)),
              Column("answer_b", String(300)), Column("text_b", Text), Column("source_b", String(120)),
              Column("overlap", Boolean, default=False), Column("gold", JSON))
assignments = Table("assignments", meta, Column("id", Integer, primary_key=True),
                    Column("study_id", Integer, ForeignKey("studies.id"), nullable=False, index=True),
                    Column("item_id", Integer, ForeignKey("items.id"), nullable=False),
                    Column("rater_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
                    Column("position", Integer), Column("flip", Boolean, default=False), Column("draft", JSON),
                    Column("draft_updated", DateTime), Column("submitted", DateTime),
                    Column("opened", DateTime), Column("seconds", Float),
                    UniqueConstraint("item_id", "rater_id"))
ratings = Table("ratings", meta, Column("id", Integer, primary_key=True),
                Column("assignment_id", Integer, ForeignKey("assignments.id"), nullable=False),
                Column("study_id", Integer, nullable=False, index=True), Column("item_id", Integer, nullable=False),
                Column("rater_id", Integer, nullable=False), Column("axis", String(80), nullable=False),
                Column("value", String(200), nullable=False), Column("created", DateTime),
                UniqueConstraint("assignment_id", "axis"))

login_failures = Table("login_failures", meta, Column("id", Integer, primary_key=True),
                       Column("username", String(80), index=True), Column("client", String(64), index=True),
                       Column("at", DateTime, nullable=False))
adjudications = Table("adjudications", meta, Column("id", Integer, primary_key=True),
                      Column("study_id", Integer, ForeignKey("studies.id"), nullable=False, index=True),
                      Column("item_id", Integer, ForeignKey("items.id"), nullable=False),
                      Column("axis", String(80), nullable=False), Column("value", String(200), nullable=False),
                      Column("note", Text), Column("admin", String(80)), Column("created", DateTime),
                      UniqueConstraint("item_id", "axis"))

DEFAULT_URL = "sqlite:///clinqa-ratings.sqlite"
LOCK_TIMEOUT = 1.0      # seconds a write waits for a database lock before the app answers 503 (the page retries)


def now() -> datetime:
    """The current UTC time, naive (as stored in every DateTime column)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _baseline(conn: Connection) -> str:
    """The revision of a database made before alembic: rating_2 when it has everything that revision adds."""
    insp = inspect(conn)
    added = {"items": {"gold"}, "assignments": {"opened", "seconds"}, "users": {"disabled"}}
    complete = all(insp.has_table(t) for t in ("login_failures", "adjudications", *added)) and all(
        columns <= {c["name"] for c in insp.get_columns(table)} for table, columns in added.items())
    return "rating_2" if complete else "rating_1"


def create_schema(engine: Engine) -> None:
    """Create the tables of a new database or migrate an older one to the newest revision (see clinqa.data.migrate);
    a database written by a newer clinqa is refused (DataError naming it, password masked)."""
    shown = engine.url.render_as_string(hide_password=True)
    upgrade(engine, "rating", meta, _baseline, lambda problem: DataError(shown, f"rating database {problem}"))


@contextmanager
def without_waiting(engine: Engine) -> Iterator[Connection]:
    """A write transaction that fails at once (OperationalError) instead of waiting for a lock another holds: for
    writes that may be skipped when the database is busy."""
    with engine.connect() as c:
        if engine.dialect.name == "sqlite":
            raw = c.connection.driver_connection
            raw.execute("PRAGMA busy_timeout=0")
            try:
                with c.begin():
                    yield c
            finally:
                raw.execute(f"PRAGMA busy_timeout={int(engine.clinqa_lock_timeout * 1000)}")
        else:
            with c.begin():
                c.execute(text("SET LOCAL lock_timeout = '1ms'"))
                yield c


def make_engine(url: str = DEFAULT_URL, create: bool = True, lock_timeout: float = LOCK_TIMEOUT) -> Engine:
    """An engine for a SQLite file or a PostgreSQL URL (postgresql+psycopg://user:pw@host/db); creates the tables and
    migrates an older database. A write waiting longer than `lock_timeout` seconds for a lock raises
    OperationalError (the app answers 503). The pools are large enough that requests waiting on a lock never hold
    up the others' reads (the app also caps concurrent writes, see web.run_write)."""
    if url.startswith("sqlite"):
        # every write transaction here starts with its write (see actions.py), so WAL readers never block it
        engine = create_engine(url, pool_size=10, max_overflow=60,
                               connect_args={"timeout": lock_timeout, "check_same_thread": False})

        event.listen(engine, "connect", lambda conn, _: set_wal(conn, lock_timeout, "PRAGMA foreign_keys=ON"))
    else:
        engine = create_engine(url, pool_size=20, max_overflow=60, pool_pre_ping=True,
                               connect_args={"options": f"-c lock_timeout={int(lock_timeout * 1000)}"})
    engine.clinqa_lock_timeout = lock_timeout
    if create:
        create_schema(engine)
    return engine
