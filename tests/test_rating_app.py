"""The rating app: studies and assignment, access control, CSRF, complete-only submission, drafts, double submits,
crash consistency and export — each on SQLite and on PostgreSQL."""

import html
from collections import Counter
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from clinqa.analysis.table import read_ratings
from clinqa.rating import actions
from clinqa.rating.app import create_app
from clinqa.rating.auth import create_user
from clinqa.rating.db import assignments, ratings
from clinqa.data.rubric import load_rubric
from clinqa.rating.study import StudyConfig, balanced_assignment, create_study, export_rows
from rating_helpers import DB_PARAMS, PASSWORD, answers_run, csrf_of, fresh_db_url, login

RUBRIC = load_rubric()
FULL = {a.key: a.scale[-1] for a in RUBRIC.physician}


@pytest.fixture(params=DB_PARAMS)
def env(request, tmp_path):
    app = create_app(fresh_db_url(request.param, tmp_path))
    engine = app.state.engine
    create_user(engine, "boss", PASSWORD, "physician", is_admin=True)
    for name in ("ann", "bob", "cat"):
        create_user(engine, name, PASSWORD, "physician")
    create_user(engine, "lee", PASSWORD, "lay")
    store = answers_run(tmp_path)
    sid = create_study(engine, StudyConfig("s1", ["model", "physician"], physician_replication=2, lay_replication=1,
                                           pairwise_replication=1, overlap=1, seed=3), store.answers())
    yield app, engine, sid, store
    engine.dispose()


def client_for(app, user):
    c = TestClient(app)
    r = login(c, user)
    assert r.status_code == 303, r.text
    return c


def mine(engine, user):
    from clinqa.rating.db import users
    with engine.connect() as c:
        uid = c.execute(select(users.c.id).where(users.c.username == user)).scalar_one()
    return uid, actions.my_assignments(engine, uid)


def test_assignment_guarantees_replication_balances_load_and_overlap(env):
    app, engine, sid, _ = env
    with engine.connect() as c:
        rows = c.execute(select(assignments.c.item_id, assignments.c.rater_id)).all()
    from clinqa.rating.study import progress_by_item
    items = {i["item"]: i for i in progress_by_item(engine, sid)}
    kinds = Counter(i["kind"] for i in items.values())
    assert kinds == {"physician": 6, "lay": 6, "pairwise": 3}
    for i in items.values():
        want = {"physician": 2, "lay": 1, "pairwise": 1}[i["kind"]]
        assert i["raters"] == ({"physician": 3, "lay": 1, "pairwise": 3}[i["kind"]] if i["overlap"] else want)
    assert sum(i["overlap"] for i in items.values()) == 3                       # one per kind
    assert len(rows) == len(set(rows))                                          # distinct raters per item
    import random
    pairs = balanced_assignment(list(range(40)), [1, 2, 3, 4, 5, 6, 7], 3, {0, 1}, random.Random(0))
    load = Counter(r for _, r in pairs)
    assert max(load.values()) - min(load.values()) <= 1 and len(pairs) == 38 * 3 + 2 * 7
    with pytest.raises(ValueError, match="needs at least 4 raters"):
        balanced_assignment([1], [1, 2, 3], 4, set(), random.Random(0))


def test_login_required_wrong_password_and_csrf(env):
    app = env[0]
    c = TestClient(app)
    assert c.get("/", follow_redirects=False).headers["location"] == "/login"
    assert c.get("/admin", follow_redirects=False).headers["location"] == "/login"
    assert login(c, "ann", "wrong password").status_code == 401
    page = c.get("/login")
    assert c.post("/login", data={"username": "ann", "password": PASSWORD}).status_code == 403     # no CSRF token
    c = client_for(app, "ann")
    aid = mine(app.state.engine, "ann")[1][0]["id"]
    assert c.post(f"/rate/{aid}", data=FULL).status_code == 403
    assert c.post(f"/rate/{aid}", data={**FULL, "csrf": "forged"}).status_code == 403
    assert page.headers["x-frame-options"] == "DENY" and "default-src 'self'" in page.headers["content-security-policy"]


def test_raters_see_only_their_own_and_no_sources(env):
    app, engine, sid, _ = env
    ann, bob = client_for(app, "ann"), client_for(app, "bob")
    _, bob_items = mine(engine, "bob")
    _, ann_items = mine(engine, "ann")
    theirs = next(a["id"] for a in bob_items if a["id"] not in {x["id"] for x in ann_items})
    assert ann.get(f"/rate/{theirs}").status_code == 404
    csrf = csrf_of(ann.get("/").text)
    assert ann.post(f"/rate/{theirs}", data={**FULL, "csrf": csrf}).status_code == 404
    assert ann.post(f"/rate/{theirs}/draft", data={**FULL, "csrf": csrf}).status_code == 404
    assert ann.get("/admin").status_code == 403
    assert ann.get(f"/admin/studies/{sid}/export.csv").status_code == 403
    for a in ann_items:
        html = ann.get(f"/rate/{a['id']}").text
        assert "answer to question" in html
        body = html.split("<main>")[1]
        for source_name in ("model:", "physician:", ">model<", ">physician<"):
            assert source_name not in body


def test_submit_needs_every_axis_and_drafts_survive(env):
    app, engine, sid, _ = env
    c = client_for(app, "ann")
    uid, items = mine(engine, "ann")
    aid = next(a["id"] for a in items if a["kind"] == "physician")
    csrf = csrf_of(c.get(f"/rate/{aid}").text)
    partial = {k: v for k, v in list(FULL.items())[:5]}
    r = c.post(f"/rate/{aid}", data={**partial, "csrf": csrf})
    assert r.status_code == 422 and "missing" in r.text
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ratings)).scalar_one() == 0
    # leave and come back: a new session sees the answered axes
    c2 = client_for(app, "ann")
    page = c2.get(f"/rate/{aid}").text
    assert page.count("checked") == 5
    r = c2.post(f"/rate/{aid}/draft", data={**partial, "consensus": "No consensus", "csrf": csrf_of(page)})
    assert r.status_code == 200 and "Draft saved (5 axes" in r.text
    bad = c2.post(f"/rate/{aid}", data={**FULL, "bias": "Maybe", "csrf": csrf_of(page)})
    assert bad.status_code == 422 and "no value 'Maybe'" in html.unescape(bad.text)
    ok = c2.post(f"/rate/{aid}", data={**FULL, "csrf": csrf_of(page)}, follow_redirects=False)
    assert ok.status_code == 303
    assert dict(actions.open_assignment(engine, aid, uid).values) == FULL


def test_double_submit_and_second_tab_do_not_duplicate_or_overwrite(env):
    app, engine, sid, _ = env
    tab1, tab2 = client_for(app, "bob"), client_for(app, "bob")
    uid, items = mine(engine, "bob")
    aid = next(a["id"] for a in items if a["kind"] == "physician")
    csrf1, csrf2 = csrf_of(tab1.get(f"/rate/{aid}").text), csrf_of(tab2.get(f"/rate/{aid}").text)
    first = {a.key: a.scale[0] for a in RUBRIC.physician}
    assert tab1.post(f"/rate/{aid}", data={**first, "csrf": csrf1}, follow_redirects=False).status_code == 303
    assert tab1.post(f"/rate/{aid}", data={**first, "csrf": csrf1}).status_code == 409
    r = tab2.post(f"/rate/{aid}", data={**FULL, "csrf": csrf2})
    assert r.status_code == 409 and "first submission stands" in r.text
    assert tab2.post(f"/rate/{aid}/draft", data={**FULL, "csrf": csrf2}).status_code == 409
    with engine.connect() as c:
        got = dict(c.execute(select(ratings.c.axis, ratings.c.value).where(ratings.c.assignment_id == aid)).all())
    assert got == first


def test_crash_mid_submission_leaves_the_database_consistent(env, monkeypatch):
    app, engine, sid, _ = env
    uid, items = mine(engine, "cat")
    aid = next(a["id"] for a in items if a["kind"] == "physician")
    real_insert = actions.insert

    def exploding_insert(table):
        if table is ratings:
            raise RuntimeError("power cut")
        return real_insert(table)
    monkeypatch.setattr(actions, "insert", exploding_insert)
    with pytest.raises(RuntimeError):
        actions.submit(engine, aid, uid, FULL)
    monkeypatch.undo()
    with engine.connect() as c:
        assert c.execute(select(assignments.c.submitted).where(assignments.c.id == aid)).scalar_one() is None
        assert c.execute(select(func.count()).select_from(ratings)).scalar_one() == 0
    actions.submit(engine, aid, uid, FULL)        # the rater simply submits again
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(ratings)).scalar_one() == len(FULL)


def test_expired_session_is_refused(env):
    app, engine, _, _ = env
    c = client_for(app, "ann")
    from clinqa.rating.db import sessions
    with engine.begin() as conn:
        conn.execute(sessions.update().values(expires=datetime(2000, 1, 1)))
    assert c.get("/", follow_redirects=False).headers["location"] == "/login"


def test_pairwise_sides_and_export_unblinding(env, tmp_path):
    app, engine, sid, _ = env
    for user in ("ann", "bob", "cat"):
        uid, items = mine(engine, user)
        for a in items:
            if a["kind"] != "pairwise":
                continue
            view = actions.open_assignment(engine, a["id"], uid)
            # the rater always prefers the physician's answer, wherever it is shown
            pick = "Answer 1" if view.answers[0].startswith("physician") else "Answer 2"
            actions.submit(engine, a["id"], uid, {ax.key: pick for ax in RUBRIC.pairwise})
    admin = client_for(app, "boss")
    assert "s1" in admin.get("/admin").text
    csv_text = admin.get(f"/admin/studies/{sid}/export.csv")
    assert csv_text.status_code == 200 and csv_text.headers["content-type"].startswith("text/csv")
    path = tmp_path / "export.csv"
    path.write_bytes(csv_text.content)
    rows = read_ratings(path)
    # 3 pairs: two rated once, the overlap pair by all 3 physicians -> 5 assignments x 9 axes
    assert len(rows) == len(export_rows(engine, sid)) == 45
    from clinqa.analysis.pairwise import preferences
    prefs = preferences(rows, RUBRIC.pairwise)
    assert prefs and all(p.chose_b.estimate == 1.0 and p.source_b == "physician" for p in prefs)
    for fmt in ("jsonl", "parquet"):
        r = admin.get(f"/admin/studies/{sid}/export.{fmt}")
        (tmp_path / f"e.{fmt}").write_bytes(r.content)
        assert read_ratings(tmp_path / f"e.{fmt}") == rows


def test_cli_users_study_export_and_demo(tmp_path):
    from typer.testing import CliRunner

    from clinqa.cli import app as cli
    from clinqa.rating.db import make_engine
    from clinqa.rating.demo import ensure_demo
    run = CliRunner()
    db = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    for name in ("ann", "bob"):
        r = run.invoke(cli, ["rate", "add-user", name, "--password", PASSWORD, "--db", db])
        assert r.exit_code == 0, r.output
    r = run.invoke(cli, ["rate", "add-user", "ann", "--password", PASSWORD, "--db", db])
    assert r.exit_code == 2 and "exists" in r.output
    store = answers_run(tmp_path, n_questions=2)
    r = run.invoke(cli, ["rate", "create-study", "cli", "--answers", str(store.dir), "--sources", "model,nobody",
                         "--db", db])
    assert r.exit_code == 2 and "no stored answers from source(s) nobody" in r.output
    r = run.invoke(cli, ["rate", "create-study", "cli", "--answers", str(store.dir), "--sources", "model,physician",
                         "--physician", "2", "--db", db])
    assert r.exit_code == 0 and "ann (physician): 4 items" in r.output
    engine = make_engine(db)
    uid, items = mine(engine, "ann")
    actions.submit(engine, items[0]["id"], uid, FULL)
    r = run.invoke(cli, ["rate", "export", "cli", str(tmp_path / "out.jsonl"), "--db", db])
    assert r.exit_code == 0 and "12 ratings" in r.output
    rows = read_ratings(tmp_path / "out.jsonl")
    assert {(x.rater, x.axis, x.value) for x in rows} == {("ann", k, v) for k, v in FULL.items()}
    demo = make_engine(f"sqlite:///{tmp_path / 'demo.sqlite'}")
    logins = ensure_demo(demo)
    assert set(logins) == {"admin", "doctor1", "doctor2", "lay1"} and ensure_demo(demo) == {}
    assert len(actions.my_assignments(demo, mine(demo, "lay1")[0])) == 8       # every demo answer, once by the lay rater


def test_load_script_finds_every_acknowledged_rating_exactly_once(tmp_path):
    """A short run of benchmarks/rating_load.py (a real server process, concurrent raters, double submits, and the
    server killed with SIGKILL twice and restarted) on SQLite and, where available, PostgreSQL: it exits 0 only if
    every acknowledged submission is stored exactly once and nothing is half-stored."""
    import subprocess
    import sys
    from pathlib import Path
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "rating_load.py"
    r = subprocess.run([sys.executable, str(script), "--raters", "12", "--seconds", "8", "--questions", "60",
                        "--double-every", "2", "--kills", "2"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    ok_row = next(line for line in r.stdout.splitlines() if line.strip().startswith("ok "))
    assert "False" not in ok_row
    for row in ("doubles ", "acked "):
        counts = next(line for line in r.stdout.splitlines() if line.strip().startswith(row))
        assert all(int(x) > 0 for x in counts.split()[1:]), r.stdout
    kills = next(line for line in r.stdout.splitlines() if line.strip().startswith("kills "))
    assert all(int(x) == 2 for x in kills.split()[1:]), r.stdout
