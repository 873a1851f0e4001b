"""Versioned results store (alembic, history `store`): a run directory written before stores carried a version
(user_version 0) or before alembic (user_version 1 or 2) is migrated in place, its rows kept and an alembic_version
row written; processes opening one store at once migrate it once; an unknown or newer store is refused with one line
naming the file."""

import multiprocessing
import sqlite3
import subprocess
import sys
import threading

import pytest
from sqlalchemy import create_engine, inspect

from clinqa.data.migrate import heads
from clinqa.data.sqlite_wal import set_wal
from clinqa.eval.store import DB_NAME, Store
from clinqa.eval.store_schema import StoreVersionError
from conftest import exit_codes_at_once

# two tables as every store before alembic had them
FIRST_TABLES = """
CREATE TABLE runs (run_id VARCHAR NOT NULL, config JSON, model JSON, created FLOAT, PRIMARY KEY (run_id));
CREATE TABLE generations (qid VARCHAR NOT NULL, stage VARCHAR NOT NULL, prompt TEXT, texts JSON, tokens JSON,
    prompt_tokens INTEGER, seconds FLOAT, request JSON, PRIMARY KEY (qid, stage));
"""

# the layout of clinqa's first results store (commit 2eb52be): no answers/ratings tables, no user_version;
# `results` here also lacks the `scores` column, to exercise adding a column
OLD_LAYOUT = FIRST_TABLES + """
CREATE TABLE results (qid VARCHAR NOT NULL, position INTEGER, dataset VARCHAR, subject VARCHAR, gold VARCHAR,
    prediction VARCHAR, correct BOOLEAN, n_samples INTEGER, n_unparsed INTEGER, tokens INTEGER, seconds FLOAT,
    votes JSON, samples JSON, prompts JSON, meta JSON, finished FLOAT, PRIMARY KEY (qid));
INSERT INTO runs VALUES ('old', '{"dataset": "medqa", "strategy": "fewshot", "model": "m"}', '{}', 1.0);
INSERT INTO results VALUES ('q1', 0, 'medqa', NULL, 'B', 'B', 1, 1, 0, 3, 0.5, '{"B": 1}', '[]', '{}',
    '{"question": "Q1?", "options": {"A": "a", "B": "b"}}', 2.0);
INSERT INTO results VALUES ('q2', 1, 'medqa', NULL, 'C', 'A', 0, 1, 0, 3, 0.5, '{"A": 1}', '[]', '{}',
    '{"question": "Q2?", "options": {"A": "a", "C": "c"}}', 3.0);
"""

# schema version 1 (clinqa 0.1, as tests/fixtures/legacy_runs holds it): every table, no runs.provenance/results.score
V1_LAYOUT = FIRST_TABLES + """
CREATE TABLE results (qid VARCHAR NOT NULL, position INTEGER, dataset VARCHAR, subject VARCHAR, gold VARCHAR,
    prediction VARCHAR, correct BOOLEAN, n_samples INTEGER, n_unparsed INTEGER, tokens INTEGER, seconds FLOAT,
    votes JSON, samples JSON, prompts JSON, scores JSON, meta JSON, finished FLOAT, PRIMARY KEY (qid));
CREATE TABLE answers (answer_id VARCHAR NOT NULL, qid VARCHAR, source VARCHAR, dataset VARCHAR, question TEXT,
    text TEXT, model VARCHAR, prompt TEXT, params JSON, tokens INTEGER, seconds FLOAT, extra JSON, created FLOAT,
    PRIMARY KEY (answer_id));
CREATE TABLE ratings (rating_id VARCHAR NOT NULL, rater VARCHAR, kind VARCHAR, answer_id VARCHAR,
    other_answer_id VARCHAR, "values" JSON, ok BOOLEAN, raw JSON, meta JSON, created FLOAT, PRIMARY KEY (rating_id));
INSERT INTO runs VALUES ('v1', '{"dataset": "medqa", "strategy": "cot"}', '{"name": "m"}', 1.0);
INSERT INTO generations VALUES ('q1', 'cot', 'Q1?', '["... B"]', '[4]', 7, 0.1, '{}');
INSERT INTO results VALUES ('q1', 0, 'medqa', NULL, 'B', 'B', 1, 1, 0, 4, 0.1, '{"B": 1}', '["... B"]', '{}',
    '{"em": 1.0}', '{"question": "Q1?"}', 2.0);
INSERT INTO answers VALUES ('m:q1', 'q1', 'm', 'demo', 'Q1?', 'An answer.', 'm', 'p', '{}', 3, 0.2, '{}', 4.0);
INSERT INTO ratings VALUES ('g:m:q1', 'g', 'independent', 'm:q1', NULL, '{"harm": "No"}', 1, '[]', '{}', 5.0);
PRAGMA user_version = 1;
"""


def old_run(folder, layout=OLD_LAYOUT):
    folder.mkdir()
    with sqlite3.connect(folder / DB_NAME) as c:
        c.executescript(layout)
    return folder


def revision(path):
    with sqlite3.connect(path) as c:
        return [r[0] for r in c.execute("SELECT version_num FROM alembic_version")]


def user_version(path):
    with sqlite3.connect(path) as c:
        return c.execute("PRAGMA user_version").fetchone()[0]


def layout(path):
    """Every table's columns with their SQL types."""
    insp = inspect(create_engine(f"sqlite:///{path}"))
    return {t: {c["name"]: str(c["type"]) for c in insp.get_columns(t)} for t in insp.get_table_names()}


def cli(*args):
    return subprocess.run([sys.executable, "-m", "clinqa.cli", *args], capture_output=True, text=True)


def test_unversioned_store_is_migrated_in_place(tmp_path):
    run = old_run(tmp_path / "old")
    assert user_version(run / DB_NAME) == 0
    store = Store.open_existing(run)
    assert revision(run / DB_NAME) == sorted(heads("store")) == ["store_v2"]
    assert [(r["qid"], r["prediction"], r["correct"], r["meta"]["question"], r["scores"]) for r in store.results()] == [
        ("q1", "B", True, "Q1?", None), ("q2", "A", False, "Q2?", None)]
    assert store.run_info()["config"]["strategy"] == "fewshot"
    store.save_answer(dict(qid="q1", source="s", dataset="d", question="?", text="t", model=None, prompt=None,
                           params={}, tokens=None, seconds=None, extra={}))       # the answers table now exists
    assert [a["text"] for a in Store(run).answers("s")] == ["t"]
    res = cli("report", str(run))                                                 # the CLI reads it as any run
    assert res.returncode == 0 and "50.0" in res.stdout, res.stderr


def test_version_1_store_is_migrated_with_its_rows_intact(tmp_path):
    run = old_run(tmp_path / "v1", V1_LAYOUT)
    before = layout(run / DB_NAME)
    store = Store.open_existing(run)
    assert revision(run / DB_NAME) == ["store_v2"]
    after = layout(run / DB_NAME)
    assert {t: set(c) - set(before.get(t, {})) for t, c in after.items() if set(c) != set(before.get(t, {}))} == {
        "runs": {"provenance"}, "results": {"score"}, "alembic_version": {"version_num"}}
    assert [(r["qid"], r["prediction"], r["scores"], r["samples"], r["score"]) for r in store.results()] == [
        ("q1", "B", {"em": 1.0}, ["... B"], None)]
    assert store.run_info()["model"] == {"name": "m"} and store.run_info()["provenance"] == {}
    assert [(a["answer_id"], a["text"]) for a in store.answers()] == [("m:q1", "An answer.")]
    assert [(r["rating_id"], r["values"]) for r in store.ratings()] == [("g:m:q1", {"harm": "No"})]
    store.record_provenance({"clinqa": "now"})                                   # the new column is written
    assert Store(run).run_info()["provenance"] == {"created": {"clinqa": "now"}}


def test_version_2_store_made_before_alembic_is_stamped_unchanged(tmp_path):
    Store(tmp_path / "new")
    with sqlite3.connect(tmp_path / "new" / DB_NAME) as c:                    # as the previous clinqa left it
        c.execute("DROP TABLE alembic_version")
        c.execute("PRAGMA user_version = 2")
        c.execute("INSERT INTO results (qid, prediction) VALUES ('q1', 'A')")
    before = layout(tmp_path / "new" / DB_NAME)
    assert [r["prediction"] for r in Store(tmp_path / "new").results()] == ["A"]
    assert revision(tmp_path / "new" / DB_NAME) == ["store_v2"]
    assert layout(tmp_path / "new" / DB_NAME) == {**before, "alembic_version": {"version_num": "VARCHAR(32)"}}


def test_migrated_stores_have_the_tables_of_a_new_one(tmp_path):
    Store(tmp_path / "new")
    fresh = layout(tmp_path / "new" / DB_NAME)
    for name, old in (("v0", OLD_LAYOUT), ("v1", V1_LAYOUT)):
        Store(old_run(tmp_path / name, old))
        assert layout(tmp_path / name / DB_NAME) == fresh, name


def test_new_store_is_written_at_the_newest_revision(tmp_path):
    Store(tmp_path / "new")
    assert revision(tmp_path / "new" / DB_NAME) == sorted(heads("store"))
    assert Store(tmp_path / "new").results() == []


def _open_and_write(run):
    Store(run).save_answer(dict(qid=multiprocessing.current_process().name, source="s", dataset="d", question="?",
                                text="t", model=None, prompt=None, params={}, tokens=None, seconds=None, extra={}))


@pytest.mark.parametrize("made", ["new", "before alembic", "version 1"])
def test_processes_opening_one_store_at_once_migrate_it_once(tmp_path, made):
    run = old_run(tmp_path / "run", V1_LAYOUT) if made == "version 1" else tmp_path / "run"
    if made == "before alembic":
        Store(run)
        with sqlite3.connect(run / DB_NAME) as c:                 # as the previous clinqa left it
            c.execute("DROP TABLE alembic_version")
            c.execute("PRAGMA user_version = 2")
    assert exit_codes_at_once(_open_and_write, run) == [0] * 4
    assert revision(run / DB_NAME) == ["store_v2"]
    assert len(Store(run).answers("s")) == 4


@pytest.mark.parametrize("setup,message", [
    ("PRAGMA user_version = 99", "schema version 99 was written by a newer clinqa"),
    ("CREATE TABLE results (qid VARCHAR, n INTEGER, PRIMARY KEY (n))", "not a clinqa results store: table 'results'"),
    ("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY); "
     "INSERT INTO alembic_version VALUES ('store_v9')",
     "results store revision store_v9 was written by a newer clinqa (this one knows store_v1, store_v2)"),
    ("garbage", "cannot open as a clinqa results store (file is not a database)"),
])
def test_unknown_store_is_refused_with_one_line(tmp_path, setup, message):
    run = tmp_path / "r"
    run.mkdir()
    if setup == "garbage":
        (run / DB_NAME).write_bytes(b"this is not sqlite at all, not even a little" * 50)
    else:
        with sqlite3.connect(run / DB_NAME) as c:
            c.executescript(setup)
    with pytest.raises(StoreVersionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Store.open_existing(run)
    res = cli("report", str(run))
    assert res.returncode == 2 and "Traceback" not in res.stderr and "sqlalchemy" not in res.stderr.lower()
    line = " ".join(res.stderr.split())
    assert line.startswith(f"error: {run / DB_NAME}: ") and message in line


def _add_provenance(run_dir) -> None:
    Store(run_dir).record_provenance({"pid": multiprocessing.current_process().pid})


def test_provenance_written_by_processes_at_once_loses_no_entry(tmp_path):
    """Each invocation's provenance is read, extended and written back under the store's write lock."""
    store = Store(tmp_path / "run")
    store.init_run("run", {"a": 1}, {})
    assert exit_codes_at_once(_add_provenance, tmp_path / "run", processes=4) == [0] * 4
    prov = store.run_info()["provenance"]
    assert len([prov["created"], *prov.get("resumed", [])]) == 4


def test_switching_to_wal_waits_for_a_writer_instead_of_failing(tmp_path):
    """A file in rollback-journal mode whose write lock another process holds (migrating it): SQLite refuses the switch
    to WAL at once, without its busy handler; `set_wal` waits for the lock (CI saw 'database is locked' here)."""
    path = tmp_path / "old.sqlite"
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("CREATE TABLE t (x)")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO t VALUES (1)")
    opening = sqlite3.connect(path, timeout=5, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        opening.execute("PRAGMA journal_mode=WAL")            # what every connection did before
    threading.Timer(0.3, writer.execute, ["COMMIT"]).start()
    set_wal(opening, 5)
    assert opening.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert opening.execute("SELECT x FROM t").fetchall() == [(1,)]
    with pytest.raises(sqlite3.OperationalError, match="locked"):      # a lock never released: it gives up
        blocker = sqlite3.connect(tmp_path / "other.sqlite", isolation_level=None)
        blocker.execute("CREATE TABLE t (x)")
        blocker.execute("BEGIN IMMEDIATE")
        blocker.execute("INSERT INTO t VALUES (1)")
        set_wal(sqlite3.connect(tmp_path / "other.sqlite", timeout=0.1, isolation_level=None), 0.3)
