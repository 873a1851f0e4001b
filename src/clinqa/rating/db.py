"""The rating study database: SQLAlchemy Core tables, SQLite by default and PostgreSQL through the same URL.

- `users`: raters and admins (argon2 password hashes), each rater in one pool (physician or lay).
- `sessions`: login sessions (a hash of the cookie token), with expiry and the session's CSRF token.
- `studies`: a study's configuration and the rubric JSON it was created with (frozen).
- `items`: what gets rated: one answer (independent rating) or two answers to one question (pairwise).
- `assignments`: item x rater, with the side randomisation of pairwise items (`flip`) and a draft.
- `ratings`: one row per (assignment, axis), written once, in the same transaction that marks the assignment
  submitted; a unique constraint makes a duplicate impossible even if the guard were bypassed.
- `login_failures`: failed logins (user name and client address), for throttling.
- `adjudications`: an admin's resolution of a disagreement (item x axis), stored beside, never over, the ratings.

Items carry `gold` (null for real items; else {"phase": "gold" | "qualification", "expected": {axis: value},
"feedback": text}); assignments carry `opened` / `seconds` (time on item, measured by the server). Databases made
before these columns existed are migrated on open (`ALTER TABLE ... ADD COLUMN`), never silently rebuilt.
"""

from __future__ import annotations

from sqlalchemy import (JSON, Boolean, Column, DateTime, Float, ForeignKey, Integer, MetaData, String, Table, Text,
                        UniqueConstraint, create_engine, event, inspect, text)
from sqlalchemy.engine import Engine

meta = MetaData()
users = Table("users", meta, Column("id", Integer, primary_key=True), Column("username", String(80), unique=True,
                                                                          nullable=False),
              Column("pool", String(20), nullable=False), Column("is_admin", Boolean, default=False),
              Column("password_hash", String(200), nullable=False), Column("created", DateTime))
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
LOCK_TIMEOUT = 5.0      # seconds a request waits for a database lock before the app answers 503
# columns added after the first release: (table, column, SQL type); old databases get them on open
ADDED_COLUMNS = (("items", "gold", "JSON"), ("assignments", "opened", "TIMESTAMP"),
                 ("assignments", "seconds", "FLOAT"))


def migrate(engine: Engine) -> list[str]:
    """Add the columns an older study database lacks; returns what was added."""
    insp = inspect(engine)
    added = []
    for table, column, sql_type in ADDED_COLUMNS:
        if insp.has_table(table) and column not in {c["name"] for c in insp.get_columns(table)}:
            pg_type = {"JSON": "JSON", "TIMESTAMP": "TIMESTAMP WITHOUT TIME ZONE", "FLOAT": "DOUBLE PRECISION"}
            with engine.begin() as c:
                c.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} "
                               f"{sql_type if engine.dialect.name == 'sqlite' else pg_type[sql_type]}"))
            added.append(f"{table}.{column}")
    return added


def make_engine(url: str = DEFAULT_URL, create: bool = True, lock_timeout: float = LOCK_TIMEOUT) -> Engine:
    """An engine for a SQLite file or a PostgreSQL URL (postgresql+psycopg://user:pw@host/db); creates the tables and
    migrates an older database. A lock wait longer than `lock_timeout` seconds raises OperationalError (the app
    answers 503)."""
    if url.startswith("sqlite"):
        # every write transaction here starts with its write (see actions.py), so WAL readers never block it and
        # writers queue on the busy timeout, kept short, instead of failing at once
        engine = create_engine(url, connect_args={"timeout": lock_timeout, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(conn, _):
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
    else:
        engine = create_engine(url, pool_size=20, max_overflow=40, pool_pre_ping=True,
                               connect_args={"options": f"-c lock_timeout={int(lock_timeout * 1000)}"})
    if create:
        meta.create_all(engine)
        migrate(engine)
    return engine
