"""The settings every connection to one of clinqa's SQLite files starts with (a run's results store, the rating
study's database): WAL journal mode, so readers never wait for a writer, and synchronous=NORMAL.

Switching a file to WAL needs its exclusive lock. A connection that asks while another process holds the write lock
(creating or migrating that file, see `clinqa.data.migrate`) is refused at once with "database is locked": SQLite skips
the busy handler where waiting could deadlock. So the switch is retried until the connection's own lock wait is spent;
once the file is in WAL mode (it stays so), the pragma is a no-op.
"""

from __future__ import annotations

import sqlite3
import time

RETRY_EVERY_S = 0.05


def set_wal(conn: sqlite3.Connection, wait_s: float, *pragmas: str) -> None:
    """Put `conn`'s file in WAL mode (retrying for up to `wait_s` seconds while another process holds the lock),
    then run synchronous=NORMAL and `pragmas`."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() >= deadline:
                raise
            time.sleep(RETRY_EVERY_S)
    for pragma in ("PRAGMA synchronous=NORMAL", *pragmas):
        conn.execute(pragma)
