"""Versioned results store: a run directory written before stores carried a version is migrated in place (data kept,
missing tables and columns added, version set); an unknown or newer store is refused with one line naming the file."""

import sqlite3
import subprocess
import sys

import pytest

from clinqa.eval.store import DB_NAME, Store
from clinqa.eval.store_schema import SCHEMA_VERSION, StoreVersionError, schema_version

# the layout of clinqa's first results store (commit 2eb52be): no answers/ratings tables, no user_version;
# `results` here also lacks the `scores` column, to exercise adding a column
OLD_LAYOUT = """
CREATE TABLE runs (run_id VARCHAR NOT NULL, config JSON, model JSON, created FLOAT, PRIMARY KEY (run_id));
CREATE TABLE generations (qid VARCHAR NOT NULL, stage VARCHAR NOT NULL, prompt TEXT, texts JSON, tokens JSON,
    prompt_tokens INTEGER, seconds FLOAT, request JSON, PRIMARY KEY (qid, stage));
CREATE TABLE results (qid VARCHAR NOT NULL, position INTEGER, dataset VARCHAR, subject VARCHAR, gold VARCHAR,
    prediction VARCHAR, correct BOOLEAN, n_samples INTEGER, n_unparsed INTEGER, tokens INTEGER, seconds FLOAT,
    votes JSON, samples JSON, prompts JSON, meta JSON, finished FLOAT, PRIMARY KEY (qid));
INSERT INTO runs VALUES ('old', '{"dataset": "medqa", "strategy": "fewshot", "model": "m"}', '{}', 1.0);
INSERT INTO results VALUES ('q1', 0, 'medqa', NULL, 'B', 'B', 1, 1, 0, 3, 0.5, '{"B": 1}', '[]', '{}',
    '{"question": "Q1?", "options": {"A": "a", "B": "b"}}', 2.0);
INSERT INTO results VALUES ('q2', 1, 'medqa', NULL, 'C', 'A', 0, 1, 0, 3, 0.5, '{"A": 1}', '[]', '{}',
    '{"question": "Q2?", "options": {"A": "a", "C": "c"}}', 3.0);
"""


def old_run(folder):
    folder.mkdir()
    with sqlite3.connect(folder / DB_NAME) as c:
        c.executescript(OLD_LAYOUT)
    return folder


def cli(*args):
    return subprocess.run([sys.executable, "-m", "clinqa.cli", *args], capture_output=True, text=True)


def test_unversioned_store_is_migrated_in_place(tmp_path):
    run = old_run(tmp_path / "old")
    assert schema_version(run / DB_NAME) == 0
    store = Store.open_existing(run)
    assert schema_version(run / DB_NAME) == SCHEMA_VERSION
    assert [(r["qid"], r["prediction"], r["correct"], r["meta"]["question"], r["scores"]) for r in store.results()] == [
        ("q1", "B", True, "Q1?", None), ("q2", "A", False, "Q2?", None)]
    assert store.run_info()["config"]["strategy"] == "fewshot"
    store.save_answer(dict(qid="q1", source="s", dataset="d", question="?", text="t", model=None, prompt=None,
                           params={}, tokens=None, seconds=None, extra={}))       # the answers table now exists
    assert [a["text"] for a in Store(run).answers("s")] == ["t"]
    res = cli("report", str(run))                                                 # the CLI reads it as any run
    assert res.returncode == 0 and "50.0" in res.stdout, res.stderr


def test_new_store_is_written_with_the_current_version(tmp_path):
    Store(tmp_path / "new")
    assert schema_version(tmp_path / "new" / DB_NAME) == SCHEMA_VERSION >= 1


@pytest.mark.parametrize("setup,message", [
    ("PRAGMA user_version = 99", "schema version 99 was written by a newer clinqa"),
    ("CREATE TABLE results (qid VARCHAR, n INTEGER, PRIMARY KEY (n))", "not a clinqa results store: table 'results'"),
    ("garbage", "cannot open as a clinqa results store (file is not a database)"),
])
def test_unknown_store_is_refused_with_one_line(tmp_path, setup, message):
    run = tmp_path / "r"
    run.mkdir()
    if setup == "garbage":
        (run / DB_NAME).write_bytes(b"this is not sqlite at all, not even a little" * 50)
    else:
        with sqlite3.connect(run / DB_NAME) as c:
            c.execute(setup)
    with pytest.raises(StoreVersionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Store.open_existing(run)
    res = cli("report", str(run))
    assert res.returncode == 2 and "Traceback" not in res.stderr and "sqlalchemy" not in res.stderr.lower()
    line = " ".join(res.stderr.split())
    assert line.startswith(f"error: {run / DB_NAME}: ") and message in line
