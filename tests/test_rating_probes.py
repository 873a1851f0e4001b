"""The rating app probed as an attacker and under faults (issue 24), on SQLite and PostgreSQL: login throttling that
slows guessing without a lock-out switch, X-Forwarded-For believed only from configured proxies, reads that never
queue behind a held write lock (writers fail fast with Retry-After), what is sent after a session expired kept,
look-alike user names refused, the schema created once under concurrent `rate add-user`, the server's own replies
with security headers, no Host header in a Location, slow requests timed out, the database password masked,
duplicated form fields refused, and users disabled and deleted by an admin."""

import multiprocessing
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from clinqa.rating import actions, auth, throttle
from clinqa.rating.app import create_app
from clinqa.rating.db import login_failures, sessions
from clinqa.rating.study import StudyConfig, create_study
from rating_helpers import DB_PARAMS, PASSWORD, HeldLock, answers_run, csrf_of, fresh_db_url, login, serve

ATTACKER, CLINIC, HOME = ("203.0.113.9", 4000), ("198.51.100.20", 4000), ("192.0.2.77", 4000)


@pytest.fixture(params=DB_PARAMS)
def env(request, tmp_path):
    app = create_app(fresh_db_url(request.param, tmp_path), trusted_proxies="")
    engine = app.state.engine
    auth.create_user(engine, "boss", PASSWORD, "physician", is_admin=True)
    for name in ("ann", "bob"):
        auth.create_user(engine, name, PASSWORD, "physician")
    create_study(engine, StudyConfig("s1", ["model", "physician"], physician_replication=2),
                 answers_run(tmp_path).answers())
    yield app, engine
    engine.dispose()


def client(app, user=None, address=("testclient", 50000)):
    c = TestClient(app, raise_server_exceptions=False, client=address)
    if user:
        assert login(c, user).status_code == 303
    return c


def first_item(engine, user):
    uid = auth.authenticate(engine, user, PASSWORD, "setup").id
    return uid, actions.my_assignments(engine, uid)[0]["id"]


def test_a_name_hammered_from_one_address_does_not_lock_its_owner_out_elsewhere(env):
    app, engine = env
    attacker = client(app, address=ATTACKER)
    codes = [login(attacker, "ann", f"guess {i}").status_code for i in range(8)]
    assert codes == [401] * throttle.FREE_FAILURES + [429] * (8 - throttle.FREE_FAILURES)   # slowed, not counted
    assert login(client(app, address=HOME), "ann").status_code == 303        # the real ann, from home
    assert login(attacker, "ann").status_code == 429                          # the attacker's pair still waits
    with engine.begin() as c:                                                  # ... until the delay has passed
        c.execute(update(login_failures).values(at=auth.now() - throttle.delay_after(throttle.FREE_FAILURES)
                                                - timedelta(seconds=1)))
    assert login(attacker, "ann", "one more guess").status_code == 401
    r = login(attacker, "ann")
    assert r.status_code == 429 and 2 <= int(r.headers["retry-after"]) <= 5   # the next delay doubled (4 s)
    delays = [throttle.delay_after(n).total_seconds() for n in range(throttle.FREE_FAILURES, 20)]
    assert delays == sorted(delays) and delays[1] == 2 * delays[0] and delays[-1] == throttle.MAX_DELAY.total_seconds()


def test_made_up_names_from_a_clinic_address_do_not_block_its_users(env, monkeypatch):
    app, engine = env
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))   # fast here
    clinic = client(app, address=CLINIC)
    assert {login(clinic, f"nobody{i}", "guess").status_code for i in range(60)} == {401}
    assert login(client(app, address=CLINIC), "ann").status_code == 303
    assert login(client(app, address=CLINIC), "bob").status_code == 303
    # past the address's budget (password spraying), a name that already failed there waits; the others do not
    monkeypatch.setattr(throttle, "CLIENT_BUDGET", 50)
    assert login(clinic, "nobody3", "guess").status_code == 429
    assert login(client(app, address=CLINIC), "boss").status_code == 303


def failures_from(engine):
    with engine.connect() as c:
        return set(c.execute(select(login_failures.c.client)).scalars())


def test_forwarded_for_is_believed_only_from_configured_proxies(tmp_path):
    url = f"sqlite:///{tmp_path / 'p.sqlite'}"
    plain = create_app(url, trusted_proxies="")
    c = client(plain, address=("127.0.0.1", 1))
    c.cookies.set("clinqa_login_csrf", "t")
    c.post("/login", data={"username": "x", "password": "y" * 9, "csrf": "t"}, headers={"x-forwarded-for": "192.0.2.1"})
    assert failures_from(plain.state.engine) == {"127.0.0.1"}
    proxied = create_app(url, trusted_proxies="127.0.0.1, 10.0.0.0/8")
    c = client(proxied, address=("127.0.0.1", 1))
    c.cookies.set("clinqa_login_csrf", "t")
    form = {"username": "x", "password": "y" * 9, "csrf": "t"}
    assert c.post("/login", data=form, headers={"x-forwarded-for": "198.51.100.5, 10.1.2.3"}).status_code == 401
    assert "198.51.100.5" in failures_from(proxied.state.engine)               # the proxies' own hops skipped
    for junk in ("not-an-address", "1.2.3.4, <script>", "9" * 5000, "1.2.3.4," * 200):
        r = c.post("/login", data=form, headers={"x-forwarded-for": junk})
        assert r.status_code == 400 and "X-Forwarded-For" in r.text
    with pytest.raises(ValueError, match="trusted proxies"):
        create_app(url, trusted_proxies="10.0.0.1, proxy.example")
    # through the real server (uvicorn believed X-Forwarded-For from any loopback peer)
    server, thread, base = serve(plain)
    try:
        page = httpx.get(f"{base}/login")
        httpx.post(f"{base}/login", data={**form, "csrf": csrf_of(page.text)}, cookies=page.cookies,
                   headers={"x-forwarded-for": "203.0.113.250"})
    finally:
        server.should_exit = True
        thread.join(10)
    assert "203.0.113.250" not in failures_from(plain.state.engine)


@pytest.mark.parametrize("db", DB_PARAMS)
def test_reads_do_not_queue_behind_a_held_write_lock_and_writers_fail_fast(db, tmp_path):
    url = fresh_db_url(db, tmp_path)
    app = create_app(url, trusted_proxies="")
    engine = app.state.engine
    for name in ("ann", "bob"):
        auth.create_user(engine, name, PASSWORD)
    create_study(engine, StudyConfig("s", ["model", "physician"], physician_replication=2),
                 answers_run(tmp_path).answers())
    _, ann_item = first_item(engine, "ann")
    _, bob_item = first_item(engine, "bob")
    server, thread, base = serve(app)
    try:
        ann, bob = httpx.Client(base_url=base, timeout=60), httpx.Client(base_url=base, timeout=60)
        for c, name in ((ann, "ann"), (bob, "bob")):
            c.post("/login", data={"username": name, "password": PASSWORD, "csrf": csrf_of(c.get("/login").text)})
        csrf = csrf_of(ann.get(f"/rate/{ann_item}").text)

        def write(i):
            t = time.monotonic()
            r = ann.post(f"/rate/{ann_item}/draft", data={"bias": "Yes", "csrf": csrf}, headers={"HX-Request": "1"})
            return r, time.monotonic() - t

        def read(path):
            t = time.monotonic()
            return bob.get(path).status_code, time.monotonic() - t
        with HeldLock(db, url, tmp_path / "ratings.sqlite"), ThreadPoolExecutor(60) as pool:
            writers = [pool.submit(write, i) for i in range(50)]
            time.sleep(0.5)                                    # the writers now wait on the lock
            reads = [read(p) for p in ("/", f"/rate/{bob_item}", "/", f"/rate/{bob_item}")]
            written = [w.result() for w in writers]
    finally:
        server.should_exit = True
        thread.join(10)
        engine.dispose()
    assert all(code == 200 for code, _ in reads) and max(s for _, s in reads) < 2.0, reads
    assert {r.status_code for r, _ in written} == {503} and all(r.headers["retry-after"] for r, _ in written)
    assert max(s for _, s in written) < 15, "writers must fail fast, not queue for each other's lock waits"


def test_a_change_sent_after_the_session_expired_is_kept_and_sessions_slide(env):
    app, engine = env
    uid, aid = first_item(engine, "ann")
    ann = client(app, "ann")
    csrf = csrf_of(ann.get(f"/rate/{aid}").text)
    with engine.begin() as c:                                  # ann is active: her session is pushed back
        c.execute(update(sessions).values(expires=auth.now() + timedelta(minutes=2)))
    assert ann.get("/").status_code == 200
    with engine.connect() as c:
        assert min(c.execute(select(sessions.c.expires)).scalars()) > auth.now() + timedelta(hours=11)
    with engine.begin() as c:                                  # then she leaves the item open too long
        c.execute(update(sessions).values(expires=auth.now() - timedelta(hours=1)))
    client(app, "bob")                                         # someone else's login cleans up old sessions
    r = ann.post(f"/rate/{aid}/draft", data={"bias": "Yes", "csrf": csrf}, headers={"HX-Request": "true"})
    assert r.headers["hx-redirect"] == f"/login?next=/rate/{aid}"
    assert actions.open_assignment(engine, aid, uid).values == {"bias": "Yes"}
    cookie = ann.cookies.jar
    assert all(c.expires is None or c.expires > time.time() + 86400 for c in cookie if c.name == "clinqa_session")


def test_names_confusable_with_existing_users_are_refused(env, tmp_path):
    app, engine = env
    for twin in ("Ann", "ANN", "\u0430nn", "b0b", "B\u041eB"):             # case, Cyrillic a, zero, Cyrillic O
        with pytest.raises(ValueError, match="looks like the existing user"):
            auth.create_user(engine, twin, PASSWORD)
    assert auth.create_user(engine, "anna", PASSWORD).username == "anna"
    admin = client(app, "boss")
    r = admin.post("/admin/users", data={"username": "\u0430nn", "password": PASSWORD, "pool": "physician",
                                         "csrf": csrf_of(admin.get("/admin").text)})
    assert r.status_code == 422 and "looks like" in r.text
    from clinqa.cli import app as cli
    db = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    assert CliRunner().invoke(cli, ["rate", "add-user", "zoe", "--password", PASSWORD, "--db", db]).exit_code == 0
    r = CliRunner().invoke(cli, ["rate", "add-user", "Zoe", "--password", PASSWORD, "--db", db])
    assert r.exit_code == 2 and "looks like" in r.output


def _add_user_when_released(db: str, name: str, barrier) -> None:
    from clinqa.cli import app as cli
    barrier.wait()
    result = CliRunner().invoke(cli, ["rate", "add-user", name, "--password", PASSWORD, "--db", db])
    if result.exit_code:
        raise SystemExit(f"{result.output} {result.exception!r}")


def test_concurrent_add_user_on_a_new_sqlite_file_creates_the_schema_once(tmp_path):
    db = f"sqlite:///{tmp_path / 'new.sqlite'}"
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(6)
    procs = [ctx.Process(target=_add_user_when_released, args=(db, f"rater{i}", barrier)) for i in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * 6
    from clinqa.rating.study import list_users
    from clinqa.rating.db import make_engine
    assert sorted(u["username"] for u in list_users(make_engine(db))) == [f"rater{i}" for i in range(6)]


def raw_exchange(base: str, data: bytes, wait: float = 6.0) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as s:
        s.sendall(data)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except TimeoutError:
            out += b"<still open>"
    return out


def test_server_replies_carry_headers_no_host_is_reflected_and_slow_requests_time_out(env):
    app, _ = env
    server, thread, base = serve(app, request_timeout=1.5)
    try:
        bad = raw_exchange(base, b"GET / HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n")
        evil_host = raw_exchange(base, b"GET /admin/ HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
        to_login = raw_exchange(base, b"GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
        t = time.monotonic()
        slow_headers = raw_exchange(base, b"GET / HTTP/1.1\r\nHost: x\r\n")
        slow_body = raw_exchange(base, b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n"
                                 b"Content-Type: application/x-www-form-urlencoded\r\n\r\nusername=a")
        slow_seconds = time.monotonic() - t
    finally:
        server.should_exit = True
        thread.join(10)
    assert bad.startswith(b"HTTP/1.1 400") and b"frame-ancestors 'none'" in bad and b"nosniff" in bad
    assert b"evil.example" not in evil_host and b"evil.example" not in to_login
    assert b"\r\nlocation: /login" in to_login.lower()
    for reply in (slow_headers, slow_body):
        assert reply.startswith(b"HTTP/1.1 408") and b"<still open>" not in reply and b"nosniff" in reply
    assert slow_seconds < 8


def test_serve_masks_the_database_password(monkeypatch):
    import clinqa.rating.app as app_module
    import clinqa.rating.server as server_module
    from clinqa.cli import app as cli
    monkeypatch.setattr(app_module, "create_app", lambda *a, **k: None)
    monkeypatch.setattr(server_module, "run_server", lambda *a, **k: None)
    import uvicorn
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)
    r = CliRunner().invoke(cli, ["rate", "serve", "--no-demo", "--db",
                                 "postgresql+psycopg://rater:s3cret-pw@db.example:5432/ratings"])
    assert r.exit_code == 0 and "s3cret-pw" not in r.output and "rater:***@db.example" in r.output


def test_a_duplicated_form_field_is_refused(env):
    app, engine = env
    uid, aid = first_item(engine, "ann")
    ann = client(app, "ann")
    csrf = csrf_of(ann.get(f"/rate/{aid}").text)
    r = ann.post(f"/rate/{aid}/draft", content=f"bias=Yes&bias=No&csrf={csrf}",
                 headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400 and "bias" in r.text and "more than once" in r.text
    assert actions.open_assignment(engine, aid, uid).values == {}


def test_an_admin_disables_and_deletes_users(env, tmp_path):
    app, engine = env
    ann_uid, aid = first_item(engine, "ann")
    ann, admin = client(app, "ann"), client(app, "boss")
    csrf = csrf_of(admin.get("/admin").text)
    axes = actions.open_assignment(engine, aid, ann_uid).axes
    actions.submit(engine, aid, ann_uid, {a.key: a.scale[0] for a in axes})
    r = admin.post("/admin/users/disable", data={"username": "ann", "csrf": csrf})
    assert r.status_code == 200 and "ann disabled" in r.text
    assert ann.get("/", follow_redirects=False).status_code == 303                 # her session is closed
    assert login(client(app), "ann").status_code == 401                            # and she cannot log in
    r = admin.post("/admin/users/delete", data={"username": "ann", "csrf": csrf})   # she has ratings: refused
    assert r.status_code == 422 and "disable the user instead" in r.text
    assert admin.post("/admin/users/enable", data={"username": "ann", "csrf": csrf}).status_code == 200
    assert login(client(app), "ann").status_code == 303
    assert admin.post("/admin/users/delete", data={"username": "boss", "csrf": csrf}).status_code == 422
    assert admin.post("/admin/users/delete", data={"username": "bob", "csrf": csrf}).status_code == 200
    assert login(client(app), "bob").status_code == 401
    assert admin.post("/admin/users/delete", data={"username": "bob"}).status_code == 403   # CSRF still checked
    # the same from the shell
    from clinqa.cli import app as cli
    db = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    run = CliRunner().invoke
    assert run(cli, ["rate", "add-user", "zed", "--password", PASSWORD, "--db", db]).exit_code == 0
    r = run(cli, ["rate", "disable-user", "zed", "--db", db])
    assert r.exit_code == 0 and "zed disabled" in r.output
    assert run(cli, ["rate", "disable-user", "zed", "--enable", "--db", db]).exit_code == 0
    r = run(cli, ["rate", "delete-user", "zed", "--db", db])
    assert r.exit_code == 0 and "zed deleted" in r.output
    r = run(cli, ["rate", "delete-user", "zed", "--db", db])
    assert r.exit_code == 2 and "no user 'zed'" in r.output
