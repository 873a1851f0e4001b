"""Shared set-up for the rating app tests: a database per test on SQLite and, where CLINQA_TEST_PG_URL is set (the
test script starts PostgreSQL), on PostgreSQL too; users; a stored answers run; logged-in test clients."""

import os
import re
import sqlite3

import pytest
from sqlalchemy import create_engine, text

from clinqa.rating.db import meta

PG_URL = os.environ.get("CLINQA_TEST_PG_URL")
DB_PARAMS = ["sqlite", pytest.param("postgres", marks=pytest.mark.skipif(not PG_URL, reason="no PostgreSQL"))]
PASSWORD = "correct horse battery"


def fresh_db_url(kind: str, tmp_path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'ratings.sqlite'}"
    engine = create_engine(PG_URL)
    meta.drop_all(engine)
    with engine.begin() as c:
        c.execute(text("DROP TABLE IF EXISTS alembic_version"))     # the schema's revision goes with its tables
    engine.dispose()
    return PG_URL


def answers_run(tmp_path, n_questions: int = 3, sources=("model", "physician")):
    from clinqa.eval.store import Store
    store = Store(tmp_path / "answers")
    for q in range(n_questions):
        for s in sources:
            store.save_answer(dict(qid=f"q{q}", source=s, dataset="demo", question=f"Question {q}?",
                                   text=f"{s} answer to question {q}", model=s, prompt="", params={}, tokens=1,
                                   seconds=0.0, extra={}))
    return store


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def login(client, username: str, password: str = PASSWORD):
    page = client.get("/login")
    return client.post("/login", data={"username": username, "password": password, "csrf": csrf_of(page.text)},
                       follow_redirects=False)


def serve(app, **options):
    """Run the app as `clinqa rate serve` does (server.server_config; `options` passed on) on a free loopback port in
    a thread; returns (server, thread, base URL)."""
    import socket
    import threading
    import time

    import uvicorn

    from clinqa.rating.server import server_config
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(server_config(app, "127.0.0.1", port, **options))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    deadline = time.time() + 20
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    return server, t, f"http://127.0.0.1:{port}"


class HeldLock:
    """Another client holding write locks: SQLite's (BEGIN IMMEDIATE), or on PostgreSQL row locks on every session
    and assignment (SELECT ... FOR UPDATE), which make writers of those rows wait and leave readers alone."""

    def __init__(self, kind, url, path):
        self.kind, self.url, self.path = kind, url, path

    def __enter__(self):
        if self.kind == "sqlite":
            self.conn = sqlite3.connect(self.path, timeout=1, isolation_level=None)
            self.conn.execute("BEGIN IMMEDIATE")
        else:
            self.engine = create_engine(self.url)
            self.conn = self.engine.connect()
            self.tx = self.conn.begin()
            for table in ("sessions", "assignments"):
                self.conn.execute(text(f"SELECT * FROM {table} FOR UPDATE"))
        return self

    def __exit__(self, *exc):
        if self.kind == "sqlite":
            self.conn.execute("ROLLBACK")
            self.conn.close()
        else:
            self.tx.rollback()
            self.conn.close()
            self.engine.dispose()
