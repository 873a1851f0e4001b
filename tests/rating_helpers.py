"""Shared set-up for the rating app tests: a database per test on SQLite and, where CLINQA_TEST_PG_URL is set (the
test script starts PostgreSQL), on PostgreSQL too; users; a stored answers run; logged-in test clients."""

import os
import re

import pytest
from sqlalchemy import create_engine

from clinqa.rating.db import meta

PG_URL = os.environ.get("CLINQA_TEST_PG_URL")
DB_PARAMS = ["sqlite", pytest.param("postgres", marks=pytest.mark.skipif(not PG_URL, reason="no PostgreSQL"))]
PASSWORD = "correct horse battery"


def fresh_db_url(kind: str, tmp_path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'ratings.sqlite'}"
    engine = create_engine(PG_URL)
    meta.drop_all(engine)
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


def serve(app):
    """Run the app with uvicorn on a free loopback port in a thread; returns (server, thread, base URL)."""
    import socket
    import threading
    import time

    import uvicorn
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    deadline = time.time() + 20
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    return server, t, f"http://127.0.0.1:{port}"
