"""Schema versions of the results store (`results.sqlite`): the version lives in SQLite's `PRAGMA user_version`.

Opening a store checks it before anything else:
- version 0 (a run directory written before stores carried a version) or a store lacking a table or a column that
  this clinqa adds is migrated in place: missing tables are created, missing nullable columns added, the version set;
- a newer version, a file that is not SQLite, or a table whose key columns differ from ours is refused with one
  `StoreVersionError` (a `DataError`, so every command prints it as a one-line error naming the file).
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from sqlalchemy import MetaData
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from clinqa.data.errors import DataError

log = logging.getLogger(__name__)

# 1: runs, generations, results, answers, ratings (as in clinqa 0.1); the first version written into stores
# 2: runs.provenance, results.score (the eval core); a version-1 store is migrated by adding them
SCHEMA_VERSION = 2


class StoreVersionError(DataError):
    """The store can be neither read nor migrated by this clinqa."""


def _columns(con: sqlite3.Connection, table: str) -> dict[str, bool]:
    """Column name -> is part of the primary key, for an existing table (empty when the table does not exist)."""
    return {row[1]: bool(row[5]) for row in con.execute(f'PRAGMA table_info("{table}")')}


def ensure_schema(path: Path, meta: MetaData, engine: Engine) -> int:
    """Check and migrate the store at `path` to SCHEMA_VERSION; return the version it had before (0: unversioned)."""
    try:
        con = sqlite3.connect(path, timeout=60)
        try:
            found = con.execute("PRAGMA user_version").fetchone()[0]
            if found > SCHEMA_VERSION:
                raise StoreVersionError(path, f"results store schema version {found} was written by a newer clinqa "
                                        f"(this one reads up to version {SCHEMA_VERSION}); upgrade clinqa")
            added, existed = [], False
            with con:
                for table in meta.sorted_tables:
                    have = _columns(con, table.name)
                    if not have:
                        continue        # created below
                    existed = True
                    keys = {c.name for c in table.primary_key.columns}
                    if keys - set(have) or {k for k, pk in have.items() if pk} - keys:
                        raise StoreVersionError(path, f"not a clinqa results store: table {table.name!r} is keyed by "
                                                f"{sorted(k for k, pk in have.items() if pk)}, expected {sorted(keys)}")
                    for col in table.columns:
                        if col.name not in have:
                            ddl = col.type.compile(dialect=engine.dialect)
                            con.execute(f'ALTER TABLE "{table.name}" ADD COLUMN "{col.name}" {ddl}')
                            added.append(f"{table.name}.{col.name}")
        finally:
            con.close()
        create_tables(meta, engine)
        if found < SCHEMA_VERSION or added:
            con = sqlite3.connect(path, timeout=60)
            try:
                con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                con.commit()
            finally:
                con.close()
            if existed:
                log.info("%s: migrated results store from schema version %d to %d%s", path, found, SCHEMA_VERSION,
                         f" (added columns {', '.join(added)})" if added else "")
        return found
    except (sqlite3.DatabaseError, SQLAlchemyError) as e:
        raise StoreVersionError(path, f"cannot open as a clinqa results store ({str(e).splitlines()[0]})") from None


def create_tables(meta: MetaData, engine: Engine, tries: int = 5) -> None:
    """Create the tables that are missing. Two processes opening a new store at once both see a table missing and
    one of them finds it made by the other: that one looks again instead of failing."""
    for attempt in range(tries):
        try:
            meta.create_all(engine)
            return
        except OperationalError as e:
            if "already exists" not in str(e) or attempt == tries - 1:
                raise


def schema_version(path: Path) -> int:
    """The version stored in the file (0 for a store written before versions)."""
    con = sqlite3.connect(path)
    try:
        return con.execute("PRAGMA user_version").fetchone()[0]
    finally:
        con.close()
