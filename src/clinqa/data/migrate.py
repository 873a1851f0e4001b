"""Schema migrations of clinqa's databases with alembic, run from Python (users need no alembic.ini): the results
store of each run directory (`store`) and the rating study database (`rating`) each have their own history of
hand-written revisions in `resources/migrations/<name>/`, sharing that folder's `env.py`.

`upgrade(engine, name, meta, baseline, refuse)` brings a database to the newest revision of its history:
- already there (nearly every open): one SELECT of `alembic_version`; the history is read once per process;
- new (none of `meta`'s tables): `meta.create_all`, stamped at the newest revision (alembic's recipe for a new
  database, so a new database is exactly the tables the code defines);
- made before clinqa used alembic (no `alembic_version`): `baseline(connection)` inspects it and names the revision its
  schema matches (None: older than the first revision; it may also refuse a foreign database), which is stamped, and
  the later revisions run;
- at a revision this clinqa does not know (written by a newer clinqa): `refuse(problem)` is raised.
Creating, stamping and migrating run in one transaction under a lock (SQLite: BEGIN IMMEDIATE, waiting up to a minute
for it; PostgreSQL: an advisory lock), so processes opening a new or an old database at once migrate it once.

A new revision is a file in `resources/migrations/<name>/` written by hand: `revision`, `down_revision` (the newest
until then) and `upgrade()` with alembic's `op`; the code's tables change with it (the tests compare a migrated
database with a new one). Revisions use `complete_table` and `add_missing_columns` where databases made before alembic
may lack some of what they add.
"""

from __future__ import annotations

import functools
import logging
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from alembic import command, op
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Constraint, Index, MetaData, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

log = logging.getLogger(__name__)

MIGRATIONS = Path(str(resources.files("clinqa") / "resources" / "migrations"))
VERSION_TABLE = "alembic_version"
LOCK_WAIT_MS = 60_000       # how long a process waits for another that is migrating the same SQLite file


def _config(name: str, connection: Connection | None = None) -> Config:
    """alembic's configuration for the history `name`, built in memory; env.py migrates on `connection`."""
    cfg = Config()
    for key, value in (("script_location", MIGRATIONS), ("version_locations", MIGRATIONS / name),
                       ("path_separator", "os")):
        cfg.set_main_option(key, str(value).replace("%", "%%"))      # configparser interpolates %
    cfg.attributes["connection"] = connection
    return cfg


@functools.cache
def history(name: str) -> ScriptDirectory:
    """The revisions of `name`, parsed once per process."""
    return ScriptDirectory.from_config(_config(name))


@functools.cache
def heads(name: str) -> frozenset[str]:
    return frozenset(history(name).get_heads())


@functools.cache
def known(name: str) -> tuple[str, ...]:
    """Every revision of `name`, oldest first."""
    return tuple(reversed([s.revision for s in history(name).walk_revisions()]))


def revisions(conn: Connection) -> set[str] | None:
    """The revisions recorded in the database, None when it has no version table (new, or made before alembic)."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    return {row[0] for row in conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))}


def _at_head(engine: Engine, name: str) -> bool:
    """The cheap check made on every open: one query, no inspection."""
    with engine.connect() as conn:
        try:
            found = {row[0] for row in conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))}
        except (OperationalError, ProgrammingError):         # no version table (yet)
            return False
    return found == heads(name)


@contextmanager
def _schema_lock(conn: Connection, name: str) -> Iterator[None]:
    """Hold the lock under which one process at a time creates or migrates; the caller's transaction releases it."""
    if conn.dialect.name == "sqlite":
        raw = conn.connection.driver_connection
        waits = raw.execute("PRAGMA busy_timeout").fetchone()[0]
        raw.execute(f"PRAGMA busy_timeout={LOCK_WAIT_MS}")      # queue behind the process migrating
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")            # the write lock, taken before looking at the schema
            yield
        finally:
            raw.execute(f"PRAGMA busy_timeout={waits}")
    else:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(f"clinqa {name}".encode())})
        yield


def upgrade(engine: Engine, name: str, meta: MetaData, baseline: Callable[[Connection], str | None],
            refuse: Callable[[str], Exception]) -> None:
    """Bring the database behind `engine` to the newest revision of history `name` (see the module's docstring)."""
    if _at_head(engine, name):
        return
    with engine.connect() as conn:
        with _schema_lock(conn, name):
            cfg = _config(name, conn)
            found = revisions(conn)
            if found is None:
                start = baseline(conn)
                if not any(inspect(conn).has_table(t) for t in meta.tables):
                    meta.create_all(conn)
                    command.stamp(cfg, "heads")
                    conn.commit()
                    return
                if start:
                    command.stamp(cfg, start)
                found = {start or "base"}
            elif unknown := found - set(known(name)):
                raise refuse(f"revision {', '.join(sorted(unknown))} was written by a newer clinqa (this one knows "
                             f"{', '.join(known(name))}); upgrade clinqa")
            if found != heads(name):
                command.upgrade(cfg, "heads")
                log.info("%s: migrated %s database from revision %s to %s", engine.url.render_as_string(True), name,
                         ", ".join(sorted(found)), ", ".join(sorted(heads(name))))
        conn.commit()


def add_missing_columns(table: str, *columns: Column) -> list[str]:
    """In a revision: add those of `columns` that `table` lacks (nullable ones: SQLite adds no others); returns them."""
    have = {c["name"] for c in inspect(op.get_bind()).get_columns(table)}
    added = [c for c in columns if c.name not in have]
    for column in added:
        op.add_column(table, column)
    return [c.name for c in added]


def complete_table(table: str, *columns: Column | Constraint | Index) -> None:
    """In a revision: create `table` when it does not exist, else add the columns of it that it lacks."""
    if inspect(op.get_bind()).has_table(table):
        add_missing_columns(table, *(c for c in columns if isinstance(c, Column)))
    else:
        op.create_table(table, *columns)
