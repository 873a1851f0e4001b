"""Rater quality control in the rating app: a qualification phase that gates the real items (with feedback), gold
items mixed into the queues and scored, the per-rater dashboard and its flags, adjudication stored beside the
ratings, time on item measured by the server and exported, and older study databases migrated on open."""

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from clinqa.rating import actions, adjudication, auth, dashboard
from clinqa.rating.app import create_app
from clinqa.rating.db import assignments, items, make_engine, ratings
from clinqa.data.rubric import load_rubric
from clinqa.rating.study import StudyConfig, create_study, export_rows
from rating_helpers import DB_PARAMS, PASSWORD, answers_run, csrf_of, fresh_db_url, login

RUBRIC = load_rubric()
EXPECTED = {"consensus": "Aligned with consensus", "bias": "No", "harm_extent": "No harm"}
WRONG = {"consensus": "Opposed to consensus", "bias": "Yes", "harm_extent": "Death or severe harm"}
GOLD = ([dict(qid=f"qual{i}", question=f"Qualification question {i}?", text="A careful answer.", kind="physician",
              phase="qualification", expected=EXPECTED, feedback="The answer follows the guideline.") for i in range(2)]
        + [dict(qid=f"gold{i}", question=f"Gold question {i}?", text="A known answer.", kind="physician", phase="gold",
                expected=EXPECTED) for i in range(2)])


def fill(engine, aid, uid, choice: dict | None = None):
    view = actions.open_assignment(engine, aid, uid)
    values = {a.key: a.scale[-1] for a in view.axes}
    values.update(choice or {})
    actions.submit(engine, aid, uid, values)


@pytest.fixture(params=DB_PARAMS)
def env(request, tmp_path):
    app = create_app(fresh_db_url(request.param, tmp_path))
    engine = app.state.engine
    auth.create_user(engine, "boss", PASSWORD, "physician", is_admin=True)
    ids = {n: auth.create_user(engine, n, PASSWORD, "physician").id for n in ("ann", "bob", "cat")}
    store = answers_run(tmp_path)
    sid = create_study(engine, StudyConfig("q", ["model", "physician"], physician_replication=2, overlap=1,
                                           gold_rate=0.5, qualification_threshold=0.8), store.answers(), gold=GOLD)
    yield app, engine, sid, ids
    engine.dispose()


def real_items_of(engine, uid):
    with engine.connect() as c:
        return [r.id for r in c.execute(select(assignments.c.id, items.c.gold)
                                        .join(items, items.c.id == assignments.c.item_id)
                                        .where(assignments.c.rater_id == uid)) if r.gold is None]


def test_qualification_gates_real_items_gold_is_mixed_in_and_the_dashboard_flags(env):
    app, engine, sid, ids = env
    for uid in ids.values():                        # before qualifying: the two qualification items only
        queue = actions.my_assignments(engine, uid)
        assert len(queue) == 2 and all(a["qualification"] for a in queue)
        with pytest.raises(actions.NotFound):
            actions.open_assignment(engine, real_items_of(engine, uid)[0], uid)
    for name, choice in (("ann", EXPECTED), ("bob", WRONG), ("cat", EXPECTED)):
        for a in actions.my_assignments(engine, ids[name]):
            fill(engine, a["id"], ids[name], choice)
    bob = TestClient(app)
    login(bob, "bob")
    home = bob.get("/").text
    assert "Qualification not passed" in home and "The answer follows the guideline." in home
    assert all(a["qualification"] for a in actions.my_assignments(engine, ids["bob"]))       # never a real item
    assert bob.get(f"/rate/{real_items_of(engine, ids['bob'])[0]}").status_code == 404
    ann_queue = actions.my_assignments(engine, ids["ann"])
    n_real = len(real_items_of(engine, ids["ann"]))
    assert len(ann_queue) == n_real + 2 + 2                # real + 2 gold (rate 0.5) + 2 qualification
    # ann answers gold as expected, cat does not: cat is flagged
    for name, choice in (("ann", EXPECTED), ("cat", WRONG)):
        for a in actions.my_assignments(engine, ids[name]):
            if a["status"] != "submitted":
                fill(engine, a["id"], ids[name], choice)
    board = {r["rater"]: r for r in dashboard.rater_dashboard(engine, sid)}
    assert board["ann"]["gold"] == 1.0 and not any("gold" in f for f in board["ann"]["flags"])
    assert board["cat"]["gold"] == 0.0 and any(f.startswith("gold 0%") for f in board["cat"]["flags"])
    assert any("failed qualification" in f for f in board["bob"]["flags"])
    admin = TestClient(app)
    login(admin, "boss")
    page = admin.get(f"/admin/studies/{sid}").text
    assert "gold 0% &lt; 70%" in page and "failed qualification" in page
    assert {r["source"] for r in export_rows(engine, sid)} == {"model", "physician"}       # gold stays out


def test_adjudication_is_stored_beside_the_ratings(env):
    app, engine, sid, ids = env
    for name, choice in (("ann", EXPECTED), ("cat", WRONG)):
        for a in actions.my_assignments(engine, ids[name]):          # both pass the qualification ...
            fill(engine, a["id"], ids[name], EXPECTED)
        for a in actions.my_assignments(engine, ids[name]):          # ... then disagree
            if a["status"] != "submitted":
                fill(engine, a["id"], ids[name], choice)
    rows = adjudication.disagreements(engine, sid)
    row = next(d for d in rows if d["axis"] == "bias")
    assert set(row["counts"]) == {"No", "Yes"}
    with engine.connect() as c:
        before = c.execute(select(ratings.c.id, ratings.c.value).order_by(ratings.c.id)).all()
    admin = TestClient(app)
    login(admin, "boss")
    page = admin.get(f"/admin/studies/{sid}/adjudicate")
    assert page.status_code == 200 and "Possibility of bias" in page.text
    r = admin.post(f"/admin/studies/{sid}/adjudicate", data={"item": row["item"], "axis": "bias", "value": "Yes",
                                                              "note": "source says so", "csrf": csrf_of(page.text)})
    assert r.status_code == 200 and "resolved as Yes" in r.text
    bad = admin.post(f"/admin/studies/{sid}/adjudicate", data={"item": row["item"], "axis": "bias",
                                                                "value": "Maybe", "csrf": csrf_of(page.text)})
    assert bad.status_code == 422 and "no value" in bad.text
    with engine.connect() as c:
        assert c.execute(select(ratings.c.id, ratings.c.value).order_by(ratings.c.id)).all() == before
    csv_text = admin.get(f"/admin/studies/{sid}/adjudications.csv").text
    assert "source says so" in csv_text and ",bias,Yes,boss," in csv_text


def back_in_time(engine, aid, seconds):
    with engine.begin() as c:
        opened = c.execute(select(assignments.c.opened).where(assignments.c.id == aid)).scalar_one()
        c.execute(assignments.update().where(assignments.c.id == aid)
                  .values(opened=opened - timedelta(seconds=seconds)))


def test_time_on_item_is_measured_by_the_server_and_exported(env):
    app, engine, sid, ids = env
    uid = ids["ann"]
    for a in actions.my_assignments(engine, uid):
        fill(engine, a["id"], uid, EXPECTED)
    aid = next(a["id"] for a in actions.my_assignments(engine, uid) if a["status"] != "submitted")
    actions.open_assignment(engine, aid, uid)
    back_in_time(engine, aid, 40)                    # the rater spent 40 s, then saved a draft ...
    actions.save_draft(engine, aid, uid, {"bias": "No"})
    back_in_time(engine, aid, 25)                    # ... and 25 s more before submitting
    actions.submit(engine, aid, uid, {a.key: a.scale[0] for a in RUBRIC.physician})
    with engine.connect() as c:
        item = c.execute(select(items.c.answer_a).join(assignments, assignments.c.item_id == items.c.id)
                         .where(assignments.c.id == aid)).scalar_one()
    secs = {r["seconds"] for r in export_rows(engine, sid) if r["item"] == item and r["rater"] == "ann"}
    assert len(secs) == 1 and 65 <= secs.pop() < 70


def test_an_older_database_is_migrated_on_open(tmp_path):
    path = tmp_path / "old.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    engine.dispose()
    import sqlite3
    con = sqlite3.connect(path)                      # back to the first release's schema (made before alembic)
    for table, column in (("items", "gold"), ("assignments", "opened"), ("assignments", "seconds"),
                          ("users", "disabled")):
        con.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    con.execute("DROP TABLE login_failures")
    con.execute("DROP TABLE adjudications")
    con.execute("DROP TABLE alembic_version")
    con.commit()
    con.close()
    app = create_app(f"sqlite:///{path}")
    engine = app.state.engine
    with engine.connect() as c:
        cols = {r[1] for r in c.execute(text("PRAGMA table_info(assignments)"))}
    assert {"opened", "seconds"} <= cols
    auth.create_user(engine, "ann", PASSWORD)
    store = answers_run(tmp_path)
    sid = create_study(engine, StudyConfig("m", ["model"], physician_replication=1), store.answers())
    c = TestClient(app)
    assert login(c, "ann").status_code == 303
    aid = actions.my_assignments(engine, 1)[0]["id"]
    r = c.post(f"/rate/{aid}", data={**{a.key: a.scale[0] for a in RUBRIC.physician},
                                     "csrf": csrf_of(c.get(f"/rate/{aid}").text)}, follow_redirects=False)
    assert r.status_code == 303 and len(export_rows(engine, sid)) == 12


def test_gold_file_errors_name_the_row_and_field(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'g.sqlite'}")
    auth.create_user(engine, "ann", PASSWORD)
    store = answers_run(tmp_path)
    bad = [dict(GOLD[0], expected={"bias": "Perhaps"})]
    with pytest.raises(ValueError, match=r"gold item 1 \(qual0\): expected: axis 'bias' has no value 'Perhaps'"):
        create_study(engine, StudyConfig("g", ["model"], physician_replication=1), store.answers(), gold=bad)
    from typer.testing import CliRunner

    from clinqa.cli import app as cli
    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(json.dumps(g) + "\n" for g in GOLD))
    db = f"sqlite:///{tmp_path / 'g.sqlite'}"
    r = CliRunner().invoke(cli, ["rate", "create-study", "g", "--answers", str(store.dir), "--sources", "model",
                                 "--physician", "1", "--gold", str(gold), "--gold-rate", "0.5", "--db", db])
    assert r.exit_code == 0, r.output
    assert "ann (physician): 7 items" in r.output    # 3 real items, 2 qualification and 2 gold
    r = CliRunner().invoke(cli, ["rate", "dashboard", "g", "--db", db])
    assert r.exit_code == 0 and "ann" in r.output and "pend" in r.output, r.output
