"""The schema of the results store (`results.sqlite`), migrated with alembic (`clinqa.data.migrate`, history `store`
in `resources/migrations/store/`: store_v1 = clinqa 0.1's tables, store_v2 = the eval core's provenance and scores).

Opening a store checks its revision before anything else:
- a new store gets the current tables; a store at an older revision is migrated in place, its rows kept;
- a store made before alembic carries its schema version in `PRAGMA user_version` (0: written before versions, 1, 2):
  it is stamped at the matching revision (version 0: none, so every revision runs and creates what it lacks), then
  migrated;
- a revision or a schema version from a newer clinqa, a file that is not SQLite, or a table keyed differently from
  ours is refused with one `StoreVersionError` (a `DataError`, so every command prints it as one line naming the file).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import MetaData
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from clinqa.data.errors import DataError
from clinqa.data.migrate import upgrade

# PRAGMA user_version of stores made before alembic -> the revision with that schema (None: before the first)
USER_VERSION_REVISIONS = {0: None, 1: "store_v1", 2: "store_v2"}


class StoreVersionError(DataError):
    """The store can be neither read nor migrated by this clinqa."""


def ensure_schema(path: Path, meta: MetaData, engine: Engine) -> None:
    """Check the store at `path` and migrate it to the newest revision, or refuse it."""
    def refuse(problem: str) -> StoreVersionError:
        return StoreVersionError(path, f"results store {problem}")

    def baseline(conn: Connection) -> str | None:
        """The revision of a store made before alembic, from its user_version; refuses tables keyed unlike ours."""
        found = conn.exec_driver_sql("PRAGMA user_version").scalar()
        if found not in USER_VERSION_REVISIONS:
            raise refuse(f"schema version {found} was written by a newer clinqa (this one reads up to version "
                         f"{max(USER_VERSION_REVISIONS)}); upgrade clinqa")
        for table in meta.sorted_tables:
            have = {row[1]: bool(row[5]) for row in conn.exec_driver_sql(f'PRAGMA table_info("{table.name}")')}
            keys = {c.name for c in table.primary_key.columns}
            if have and (keys - set(have) or {k for k, pk in have.items() if pk} - keys):
                raise StoreVersionError(path, f"not a clinqa results store: table {table.name!r} is keyed by "
                                        f"{sorted(k for k, pk in have.items() if pk)}, expected {sorted(keys)}")
        return USER_VERSION_REVISIONS[found]

    try:
        upgrade(engine, "store", meta, baseline, refuse)
    except (sqlite3.DatabaseError, SQLAlchemyError) as e:
        cause = getattr(e, "orig", None) or e            # the driver's message, without SQLAlchemy's wrapping
        raise StoreVersionError(path, f"cannot open as a clinqa results store ({str(cause).splitlines()[0]})") from None
