"""The rating app under an attacker and a clumsy user: login throttling, session revocation and expiry, user name
rules, bad input answered 4xx (never 500) on SQLite and PostgreSQL, body and upload caps, escaped echoes, security
headers on every response, spreadsheet-formula neutralisation, nothing typed lost when a session expires mid-item,
and a database lock that never stalls other requests (503 after the lock timeout)."""

import threading
import time
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from clinqa.rating import actions, auth, throttle
from clinqa.rating.app import create_app
from clinqa.rating.db import sessions, studies, users
from clinqa.rating.study import StudyConfig, create_study
from rating_helpers import DB_PARAMS, PASSWORD, HeldLock, answers_run, csrf_of, fresh_db_url, login, serve

FULL_CSP = ("frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'")


@pytest.fixture(params=DB_PARAMS)
def env(request, tmp_path):
    app = create_app(fresh_db_url(request.param, tmp_path))
    engine = app.state.engine
    auth.create_user(engine, "boss", PASSWORD, "physician", is_admin=True)
    for name in ("ann", "bob"):
        auth.create_user(engine, name, PASSWORD, "physician")
    store = answers_run(tmp_path)
    sid = create_study(engine, StudyConfig("s1", ["model", "physician"], physician_replication=2), store.answers())
    yield app, engine, sid, store
    engine.dispose()


def client(app, user=None, cookies=None):
    c = TestClient(app, raise_server_exceptions=False, cookies=cookies)
    if user:
        assert login(c, user).status_code == 303
    return c


def first_item(engine, user):
    uid = auth.authenticate(engine, user, PASSWORD).id
    return uid, actions.my_assignments(engine, uid)[0]["id"]


def count(engine, table):
    with engine.connect() as c:
        return c.execute(select(func.count()).select_from(table)).scalar_one()


def test_login_is_throttled_after_repeated_failures(env):
    app, engine, _, _ = env
    c = client(app)
    for _ in range(throttle.FREE_FAILURES):
        assert login(c, "ann", "wrong password").status_code == 401
    r = login(c, "ann")                                     # even the right password waits now (from here)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0 and "too many failed logins" in r.text
    assert login(c, "bob").status_code == 303               # other users are not slowed down
    with pytest.raises(auth.Throttled):
        auth.authenticate(engine, "ann", PASSWORD, "testclient")


def test_relogin_can_revoke_other_sessions_and_expired_sessions_are_removed(env):
    app, engine, _, _ = env
    laptop, phone = client(app, "ann"), client(app, "ann")
    assert laptop.get("/", follow_redirects=False).status_code == 200
    page = client(app)
    r = page.post("/login", data={"username": "ann", "password": PASSWORD, "revoke_others": "on",
                                  "csrf": csrf_of(page.get("/login").text)}, follow_redirects=False)
    assert r.status_code == 303
    for old in (laptop, phone):
        assert old.get("/", follow_redirects=False).headers["location"].startswith("/login")
    assert page.get("/", follow_redirects=False).status_code == 200
    bob = client(app, "bob")
    with engine.begin() as conn:
        conn.execute(sessions.update().values(expires=datetime(2000, 1, 1)))
    assert bob.get("/", follow_redirects=False).headers["location"].startswith("/login")
    client(app, "boss")                                     # any login clears every expired session
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(sessions)
                            .where(sessions.c.expires < datetime(2001, 1, 1))).scalar_one() == 0


def test_usernames_are_validated_and_normalised(env):
    app, engine, _, _ = env
    for bad, why in (("eve\x00", "control"), ("eve\u202e", "control"), ("x" * 65, "at most 64"),
                     ("  ", "needs a name")):
        with pytest.raises(ValueError, match=why):
            auth.create_user(engine, bad, PASSWORD)
    u = auth.create_user(engine, "ｄｒ．ｚｏｅ", PASSWORD)          # full-width: NFKC makes it dr.zoe
    assert u.username == "dr.zoe"
    assert auth.authenticate(engine, "ｄｒ．ｚｏｅ", PASSWORD).id == u.id
    admin = client(app, "boss")
    r = admin.post("/admin/users", data={"username": "a\x07b", "password": PASSWORD, "pool": "physician",
                                         "csrf": csrf_of(admin.get("/admin").text)})
    assert r.status_code == 422 and "username" in r.text


def bad_input_probes(c, admin, engine, sid, aid, tmp_path):
    """(label, response) for inputs that used to crash the app or slip through."""
    csrf = csrf_of(admin.get("/admin").text)
    rater_csrf = csrf_of(c.get(f"/rate/{aid}").text)
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "results.sqlite").write_bytes(b"this is not a database" * 100)
    answers = str(answers_run(tmp_path / "a2").dir)
    study = dict(name="p", answers=answers, sources="model,physician", physician_replication="1", csrf=csrf)
    out = [
        ("non-ASCII CSRF at login", client(c.app).post("/login", data={"username": "ann", "password": PASSWORD,
                                                                      "csrf": "é" * 10})),
        ("non-ASCII CSRF at logout", c.post("/logout", data={"csrf": "ü"})),
        ("non-ASCII CSRF on a draft", c.post(f"/rate/{aid}/draft", data={"csrf": "☃"})),
        ("null byte in a user name", client(c.app, cookies={"clinqa_login_csrf": "t"}).post(
            "/login", data={"username": "ann\x00", "password": "x" * 9, "csrf": "t"})),
        ("id beyond int range", c.get("/rate/99999999999999")),
        ("id beyond int range (draft)", c.post("/rate/99999999999999/draft", data={"csrf": rater_csrf})),
        ("negative id", c.get("/rate/-5")),
        ("id not a number", c.get("/rate/abc")),
        ("unknown study export", admin.get("/admin/studies/987654/export.csv")),
        ("study id beyond int range", admin.get("/admin/studies/99999999999999/export.csv")),
        ("unknown export format", admin.get(f"/admin/studies/{sid}/export.xlsx")),
        ("unknown study page", admin.get("/admin/studies/987654")),
        ("unknown study adjudication", admin.get("/admin/studies/987654/adjudicate")),
        ("sources ',,,'", admin.post("/admin/studies", data={**study, "sources": ",,,"})),
        ("corrupt answers store", admin.post("/admin/studies", data={**study, "answers": str(corrupt)})),
        ("empty answers folder", admin.post("/admin/studies", data={**study, "answers": ""})),
        ("over-long study name", admin.post("/admin/studies", data={**study, "name": "n" * 500})),
        ("over-long source name", admin.post("/admin/studies", data={**study, "sources": "s" * 300})),
        ("negative replication", admin.post("/admin/studies", data={**study, "physician_replication": "-1"})),
        ("replication not a number", admin.post("/admin/studies", data={**study, "physician_replication": "lots"})),
        ("huge replication", admin.post("/admin/studies", data={**study, "physician_replication": "9" * 30})),
        ("gold rate above 1", admin.post("/admin/studies", data={**study, "gold_rate": "7"})),
        ("missing gold file", admin.post("/admin/studies", data={**study, "gold": str(tmp_path / "nope.jsonl")})),
        ("over-long user name", admin.post("/admin/users", data={"username": "u" * 300, "password": PASSWORD,
                                                                 "pool": "physician", "csrf": csrf})),
        ("null byte in a new user", admin.post("/admin/users", data={"username": "u\x00", "password": PASSWORD,
                                                                     "pool": "physician", "csrf": csrf})),
        ("unknown pool", admin.post("/admin/users", data={"username": "zed", "password": PASSWORD,
                                                          "pool": "<b>x</b>", "csrf": csrf})),
        ("adjudicate: item not a number", admin.post(f"/admin/studies/{sid}/adjudicate",
                                                     data={"item": "x", "axis": "bias", "value": "No", "csrf": csrf})),
        ("adjudicate: item out of range", admin.post(f"/admin/studies/{sid}/adjudicate",
                                                     data={"item": "9" * 20, "axis": "bias", "value": "No",
                                                           "csrf": csrf})),
        ("adjudicate: null byte in the note", admin.post(f"/admin/studies/{sid}/adjudicate", data={
            "item": "1", "axis": "bias", "value": "No", "note": "a\x00b", "csrf": csrf})),
        ("null byte in the answers path", admin.post("/admin/studies", data={**study, "answers": "/tmp/a\x00b"})),
        ("null byte in the gold path", admin.post("/admin/studies", data={**study, "gold": "/tmp/g\x00"})),
        ("null byte in a study name", admin.post("/admin/studies", data={**study, "name": "x\x00y"})),
        ("non-ASCII session cookie", client(c.app).get("/", headers={"cookie": "clinqa_session=été".encode()},
                                                       follow_redirects=False)),
        ("draft value off the scale", c.post(f"/rate/{aid}/draft", data={"bias": "<i>x</i>", "csrf": rater_csrf})),
        ("file upload", admin.post("/admin/users", data={"csrf": csrf}, files={"username": ("a.txt", b"x" * 10)})),
        ("body too large", admin.post("/admin/users", data={"username": "big", "password": "p" * 400_000,
                                                            "csrf": csrf})),
    ]
    return out


def test_bad_inputs_get_a_4xx_never_a_500_and_change_nothing(env, tmp_path):
    app, engine, sid, _ = env
    _, aid = first_item(engine, "ann")
    c, admin = client(app, "ann"), client(app, "boss")
    n_users, n_studies = count(engine, users), count(engine, studies)
    results = bad_input_probes(c, admin, engine, sid, aid, tmp_path)
    # two probes are fine as they are: a null byte is dropped from a free-text note, a garbled cookie is no session
    handled = {"adjudicate: null byte in the note": 200, "non-ASCII session cookie": 303}
    wrong = [(label, r.status_code) for label, r in results
             if not 400 <= r.status_code < 500 and handled.get(label) != r.status_code]
    assert not wrong, wrong
    assert count(engine, users) == n_users and count(engine, studies) == n_studies
    named = dict(results)
    assert "physician_replication" in named["negative replication"].text
    assert "physician_replication" in named["replication not a number"].text
    assert "sources" in named["sources ',,,'"].text
    assert named["body too large"].status_code == 413 and named["file upload"].status_code == 400


def test_replication_below_one_is_refused_in_the_api_and_cli(tmp_path):
    from typer.testing import CliRunner

    from clinqa.cli import app as cli
    with pytest.raises(ValueError, match="physician_replication"):
        StudyConfig("x", ["model"], physician_replication=-2).validate()
    with pytest.raises(ValueError, match="rates nothing"):
        StudyConfig("x", ["model"], physician_replication=0).validate()
    store = answers_run(tmp_path)
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    assert CliRunner().invoke(cli, ["rate", "add-user", "ann", "--password", PASSWORD, "--db", db]).exit_code == 0
    r = CliRunner().invoke(cli, ["rate", "create-study", "neg", "--answers", str(store.dir), "--sources", "model",
                                 "--physician", "-1", "--db", db])
    assert r.exit_code == 2 and "physician_replication" in r.output


def test_values_echoed_in_errors_are_escaped_and_headers_are_on_every_response(env, monkeypatch):
    app, engine, _, _ = env
    _, aid = first_item(engine, "ann")
    c = client(app, "ann")
    csrf = csrf_of(c.get(f"/rate/{aid}").text)
    r = c.post(f"/rate/{aid}/draft", data={"bias": "<img src=x onerror=alert(1)>", "csrf": csrf})
    assert r.status_code == 422 and "<img" not in r.text and "&lt;img" in r.text
    r = c.post(f"/rate/{aid}/draft", data={"csrf": "forged"}, headers={"HX-Request": "true"})
    assert r.status_code == 403 and r.text.startswith("<span") and "CSRF" in r.text      # htmx swaps this in
    monkeypatch.setattr(actions, "my_assignments", lambda *a: 1 / 0)
    responses = [c.get("/login"), c.get("/no/such/page"), c.get("/admin"), c.get("/rate/abc"), r, c.get("/"),
                 c.post("/logout", content=b"x" * 300_000,
                        headers={"content-type": "application/x-www-form-urlencoded"})]
    assert [x.status_code for x in responses] == [200, 404, 403, 422, 403, 500, 413]
    for x in responses:
        for part in FULL_CSP:
            assert part in x.headers["content-security-policy"], (x.status_code, x.headers)
        assert x.headers["referrer-policy"] == "no-referrer" and x.headers["x-content-type-options"] == "nosniff"


def test_export_neutralises_spreadsheet_formulas(tmp_path):
    from clinqa.eval.store import Store
    app = create_app(f"sqlite:///{tmp_path / 'f.sqlite'}")
    engine = app.state.engine
    auth.create_user(engine, "boss", PASSWORD, is_admin=True)
    auth.create_user(engine, "=rater", PASSWORD)
    store = Store(tmp_path / "answers")
    for src in ("@evil", "-minus"):
        store.save_answer(dict(qid="=HYPERLINK(\"http://x\")", source=src, dataset="d", question="Q?", text="t",
                               model=src, prompt="", params={}, tokens=1, seconds=0.0, extra={}))
    sid = create_study(engine, StudyConfig("f", ["@evil", "-minus"], physician_replication=1), store.answers())
    uid, aid = first_item(engine, "=rater")
    actions.submit(engine, aid, uid, {a.key: a.scale[0] for a in actions.open_assignment(engine, aid, uid).axes})
    body = client(app, "boss").get(f"/admin/studies/{sid}/export.csv").text
    cells = [cell for line in body.splitlines()[1:] for cell in line.split(",")]
    assert cells and not any(cell.lstrip('"').startswith(("=", "+", "-", "@")) for cell in cells)
    assert "'=rater" in body and "'@evil" in body
    jsonl = client(app, "boss").get(f"/admin/studies/{sid}/export.jsonl").text
    assert '"rater": "=rater"' in jsonl                       # data formats keep the value as it is


def test_expired_session_mid_item_keeps_typed_ratings_and_returns_to_the_item(env):
    app, engine, _, _ = env
    uid, aid = first_item(engine, "ann")
    c = client(app, "ann")
    page = c.get(f"/rate/{aid}").text
    assert 'hx-trigger="change"' in page and f'hx-post="/rate/{aid}/draft"' in page        # drafts autosave
    typed = {"consensus": "No consensus", "bias": "Yes"}
    with engine.begin() as conn:
        conn.execute(sessions.update().values(expires=auth.now() - timedelta(minutes=1)))
    r = c.post(f"/rate/{aid}", data={**typed, "csrf": csrf_of(page)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/login?next=/rate/{aid}"
    login_page = c.get(r.headers["location"])
    assert f'value="/rate/{aid}"' in login_page.text
    back = c.post("/login", data={"username": "ann", "password": PASSWORD, "next": f"/rate/{aid}",
                                  "csrf": csrf_of(login_page.text)}, follow_redirects=False)
    assert back.headers["location"] == f"/rate/{aid}"
    assert actions.open_assignment(engine, aid, uid).values == typed
    # an htmx autosave after expiry: kept, and htmx is told to go to the login page (not swap it in)
    page = c.get(f"/rate/{aid}").text
    with engine.begin() as conn:
        conn.execute(sessions.update().values(expires=auth.now() - timedelta(minutes=1)))
    r = c.post(f"/rate/{aid}/draft", data={**typed, "bias": "No", "csrf": csrf_of(page)},
               headers={"HX-Request": "true"})
    assert r.headers["hx-redirect"] == f"/login?next=/rate/{aid}"
    assert actions.open_assignment(engine, aid, uid).values["bias"] == "No"
    assert client(app, cookies={"clinqa_login_csrf": "t"}).post(
        "/login", data={"username": "ann", "password": PASSWORD, "next": "https://evil.example", "csrf": "t"},
        follow_redirects=False).headers["location"] == "/"


def test_htmx_error_replies_are_swapped_in_for_the_rater(env):
    app, _, _, _ = env
    base = client(app, "ann").get("/").text
    assert '"[45]..", "swap": true' in base                   # htmx's default drops 4xx bodies silently


@pytest.mark.parametrize("db", DB_PARAMS)
def test_a_held_database_lock_stalls_no_other_request_and_ends_in_503(db, tmp_path):
    url = fresh_db_url(db, tmp_path)
    app = create_app(url, lock_timeout=4)
    auth.create_user(app.state.engine, "ann", PASSWORD)
    server, thread, base = serve(app)
    try:
        c = httpx.Client(base_url=base, timeout=60)
        csrf = csrf_of(c.get("/login").text)
        c.post("/login", data={"username": "ann", "password": PASSWORD, "csrf": csrf})
        csrf = csrf_of(c.get("/").text)
        with HeldLock(db, url, tmp_path / "ratings.sqlite"):       # another writer holds the lock
            result = {}
            t = threading.Thread(target=lambda: result.setdefault("r", c.post("/logout", data={"csrf": csrf})))
            t.start()
            time.sleep(0.5)                                    # the logout is now waiting for the lock
            other = httpx.get(f"{base}/login", timeout=60)     # ... and must not hold anyone else up
            still_waiting = t.is_alive()
            t.join(60)
    finally:
        server.should_exit = True
        thread.join(10)
        app.state.engine.dispose()
    assert other.status_code == 200 and still_waiting
    assert result["r"].status_code == 503 and "busy" in result["r"].text and result["r"].headers["retry-after"]
