"""Load test of the rating app: N concurrent simulated raters against a real server (`clinqa rate serve`, its own
process, on loopback) for a bounded time, on SQLite and, where a PostgreSQL URL is given, on PostgreSQL.

Each rater logs in, then loops: open the home page, open the next item, submit every axis; one submit in ten is sent
twice (a double click) and must be refused with 409. Afterwards the database is checked: every acknowledged
submission (303) has exactly one rating per axis, no (assignment, axis) appears twice, and no assignment is marked
submitted without its ratings. With `--kills N` the server is killed with SIGKILL N times during the run and restarted
(fault injection): raters retry after connection errors, and every acknowledged submission must still be stored exactly
once (a submission whose reply was lost may or may not be stored, but never half or twice). With `--hold-lock S`
another client holds the database's write lock for S seconds mid-run (SQLite: BEGIN IMMEDIATE; PostgreSQL: every
session and assignment row locked FOR UPDATE): the page loads started meanwhile are timed apart (they must not queue
behind the waiting writers), and writers answered 503 retry after Retry-After, as the pages do. Prints requests/s,
submissions/s and latency percentiles in ms (p50/p95 of the rating requests; logins, which hash with argon2 on
purpose, apart) per database, and PostgreSQL / SQLite ratios.

    python benchmarks/rating_load.py --raters 50 --seconds 20 [--kills 3] [--hold-lock 12] \
        [--pg postgresql+psycopg://user:pw@127.0.0.1/db]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy import create_engine, func, select, text

from clinqa.rating.auth import create_user
from clinqa.rating.db import assignments, make_engine, meta, ratings
from clinqa.rating.study import StudyConfig, create_study

PASSWORD = "load-test-password"
N_AXES = 12


def setup(url: str, raters: int, questions: int) -> None:
    engine = make_engine(url, create=False)
    meta.drop_all(engine)
    meta.create_all(engine)
    for i in range(raters):
        create_user(engine, f"r{i:03d}", PASSWORD, "physician")
    answers = [dict(answer_id=f"{s}:q{q}", qid=f"q{q}", source=s, question=f"Question {q}?", text=f"{s} answer {q}")
               for q in range(questions) for s in ("model", "physician")]
    create_study(engine, StudyConfig("load", ["model", "physician"], physician_replication=3), answers)
    engine.dispose()


DOWN = (httpx.TransportError,)        # the server was killed: connection refused, reset, or a reply cut off


async def rater(name: str, base: str, end: list, lat: list, acked: list, errors: list, double: list,
                login_lat: list, double_every: int, lost: list, state: dict):
    try:
        await rater_loop(name, base, end, lat, acked, errors, double, login_lat, double_every, lost, state)
    finally:
        state["active"] -= 1


async def rater_loop(name, base, end, lat, acked, errors, double, login_lat, double_every, lost, state):
    def going():
        return time.time() < end[0] or not state["chaos_done"]
    async with httpx.AsyncClient(base_url=base, timeout=60, follow_redirects=False) as c:
        async def req(method, path, into=lat, **kw):
            t, started = time.perf_counter(), time.time()
            r = await c.request(method, path, **kw)
            into.append(time.perf_counter() - t)
            if method == "GET":
                state["reads"].append((started, into[-1], r.status_code in (200, 303)))
            return r
        while True:
            try:
                page = await req("GET", "/login", into=login_lat)
                csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
                r = await req("POST", "/login", into=login_lat, data={"username": name, "password": PASSWORD,
                                                                      "csrf": csrf})
                break
            except DOWN:
                if not going():
                    return
                await asyncio.sleep(0.2)
        if r.status_code != 303:
            errors.append(f"{name}: login {r.status_code}")
            return
        n = 0
        while going():
            try:
                n = await rate_one(name, req, acked, errors, double, double_every, n, state["busy"])
            except DOWN:
                lost.append(name)              # the reply never came: retry from the home page once it is back
                await asyncio.sleep(0.2)
                continue
            if n < 0:
                return


async def post_retrying(req, path, form, busy: list):
    """POST as the page does: a 503 (database busy) is sent again after its Retry-After."""
    while True:
        r = await req("POST", path, data=form)
        if r.status_code != 503:
            return r
        busy.append(path)
        await asyncio.sleep(float(r.headers.get("retry-after", "2")))


async def rate_one(name, req, acked, errors, double, double_every, n, busy=None) -> int:
    """Rate the next item; returns the submission count, or -1 when nothing is left."""
    busy = [] if busy is None else busy
    home = await req("GET", "/")
    if home.status_code != 200:                  # a page load refused (the database busy): counted, tried again
        errors.append(f"{name}: home page {home.status_code}")
        await asyncio.sleep(1)
        return n
    m = re.search(r'class="button primary" href="/rate/(\d+)"', home.text)
    if not m:        # all done
        return -1
    aid = int(m.group(1))
    item = await req("GET", f"/rate/{aid}")
    if item.status_code != 200:
        errors.append(f"{name}: item page {item.status_code}")
        await asyncio.sleep(1)
        return n
    csrf = re.search(r'name="csrf" value="([^"]+)"', item.text).group(1)
    form = {"csrf": csrf}
    for key, value in re.findall(r'type="radio" name="([a-z_]+)" value="([^"]+)"', item.text):
        form.setdefault(key, value)
    r = await post_retrying(req, f"/rate/{aid}", form, busy)
    if r.status_code == 303:
        acked.append(aid)
    else:
        errors.append(f"{name}: submit {aid} -> {r.status_code}")
    n += 1
    if n % double_every == 0:     # a double click: must be refused, must not duplicate
        again = await post_retrying(req, f"/rate/{aid}", form, busy)
        double.append(again.status_code)
    return n


def start_server(url: str, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "clinqa.cli", "rate", "serve", "--db", url, "--no-demo",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/login", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    return proc


class WriteLock:
    """Another client holding the write lock: SQLite's BEGIN IMMEDIATE, PostgreSQL row locks FOR UPDATE."""

    def __init__(self, url: str):
        self.engine = create_engine(url, connect_args={"timeout": 60} if url.startswith("sqlite") else {})

    def acquire(self):
        self.conn = self.engine.connect()
        if self.engine.dialect.name == "sqlite":
            self.conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            self.tx = self.conn.begin()
            for table in ("sessions", "assignments"):
                self.conn.execute(text(f"SELECT id FROM {table} FOR UPDATE" if table == "assignments"
                                       else f"SELECT token_hash FROM {table} FOR UPDATE"))

    def release(self):
        self.conn.rollback()
        self.conn.close()
        self.engine.dispose()


def run(url: str, raters: int, seconds: float, questions: int, double_every: int = 10, kills: int = 0,
        hold_lock: float = 0) -> dict:
    setup(url, raters, questions)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = [start_server(url, port)]
    base = f"http://127.0.0.1:{port}"
    lat, acked, errors, double, login_lat, lost = [], [], [], [], [], []
    killed = []

    end = [time.time() + seconds]
    state = {"chaos_done": not kills, "active": raters,     # raters keep going until the fault injection is over
             "reads": [], "busy": [], "held": None}

    async def hold():
        """Hold the write lock for `hold_lock` seconds from a third of the run on."""
        if not hold_lock:
            return
        await asyncio.sleep(seconds / 3)
        lock = WriteLock(url)
        await asyncio.to_thread(lock.acquire)
        start = time.time()
        await asyncio.sleep(hold_lock)
        lock.release()
        state["held"] = (start, time.time())

    async def chaos():
        """SIGKILL the server `kills` times, each once a few more submissions were acknowledged, restarting it each
        time (off the event loop); the run is extended until raters have submitted again after the last restart."""
        async def more_acks(n=3, cap=120.0):
            seen, give_up = len(acked), time.time() + cap
            while len(acked) < seen + n and state["active"] and time.time() < give_up:
                await asyncio.sleep(0.1)
        for _ in range(kills):
            await more_acks()
            server[0].send_signal(signal.SIGKILL)
            server[0].wait()
            killed.append(time.time())
            server[0] = await asyncio.to_thread(start_server, url, port)
        if kills:
            await more_acks()
        state["chaos_done"] = True

    async def main():
        await asyncio.gather(chaos(), hold(), *[rater(f"r{i:03d}", base, end, lat, acked, errors, double, login_lat,
                                              double_every, lost, state) for i in range(raters)])
    t0 = time.perf_counter()
    asyncio.run(main())
    wall = time.perf_counter() - t0
    server[0].terminate()
    server[0].wait(10)
    engine = make_engine(url, create=False)
    with engine.connect() as c:
        rows = c.execute(select(ratings.c.assignment_id, func.count()).group_by(ratings.c.assignment_id)).all()
        submitted = c.execute(select(func.count()).select_from(assignments).where(assignments.c.submitted.isnot(None))).scalar_one()
        total = c.execute(select(func.count()).select_from(ratings)).scalar_one()
    engine.dispose()
    per = dict(rows)
    missing = [a for a in acked if per.get(a) != N_AXES]
    # without kills every submission is acknowledged; with kills a submission whose reply was lost may be stored too
    complete = all(n == N_AXES for n in per.values()) and len(per) == submitted and total == N_AXES * len(per)
    exact = len(set(acked)) == len(acked) and (set(acked) <= set(per) if kills else len(acked) == len(per))
    return dict(requests=len(lat) + len(login_lat), rps=(len(lat) + len(login_lat)) / wall,
                p50=ms(lat, 50), p95=ms(lat, 95), login_p95=ms(login_lat, 95), submits_per_s=len(acked) / wall, acked=len(acked), unique_acked=len(set(acked)),
                stored_assignments=len(per), submitted=submitted, ratings=total, missing=len(missing),
                double_refused=sum(s == 409 for s in double), doubles=len(double), errors=errors[:5],
                kills=len(killed), conn_errors=len(lost), busy_503=len(state["busy"]), **held_reads(state),
                ok=not missing and complete and exact and all(s == 409 for s in double))


def held_reads(state: dict) -> dict:
    """Page loads (GET) started while the write lock was held: how many, how many refused (not 200/303), p95 and
    slowest, in ms."""
    if not state["held"]:
        return {}
    start, end = state["held"]
    during = [(d, ok) for t, d, ok in state["reads"] if start <= t <= end]
    if not during:
        return dict(held_reads=0)
    seconds = [d for d, _ in during]
    return dict(held_reads=len(during), held_read_failed=sum(not ok for _, ok in during),
                held_read_p95=ms(seconds, 95), held_read_max=ms(seconds, 100))


def ms(seconds: list[float], q: float) -> float:
    """The q-th percentile in milliseconds (nan when nothing was timed)."""
    return 1000 * float(np.percentile(seconds, q)) if seconds else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--raters", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--questions", type=int, default=600)
    ap.add_argument("--double-every", type=int, default=10, help="every Nth submission of a rater is sent twice")
    ap.add_argument("--kills", type=int, default=0, help="SIGKILL and restart the server this many times")
    ap.add_argument("--hold-lock", type=float, default=0, help="hold the database write lock this many seconds")
    ap.add_argument("--pg", default=os.environ.get("CLINQA_TEST_PG_URL"), help="PostgreSQL URL (default $CLINQA_TEST_PG_URL)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    dbs = {"sqlite": f"sqlite:///{tmp / 'load.sqlite'}"}
    if args.pg:
        dbs["postgres"] = args.pg
    results = {}
    for name, url in dbs.items():
        print(f"{name}: {args.raters} raters for {args.seconds:.0f} s ...", flush=True)
        results[name] = run(url, args.raters, args.seconds, args.questions, args.double_every, args.kills,
                            args.hold_lock)
    cols = ["requests", "rps", "submits_per_s", "p50", "p95", "login_p95", "acked", "stored_assignments", "ratings",
            "missing", "doubles", "double_refused", "kills", "conn_errors", "busy_503"]
    held = ("held_reads", "held_read_failed", "held_read_p95", "held_read_max")
    cols += [c for c in held if any(c in r for r in results.values())] + ["ok"]
    print(f"\n{'':>20}" + "".join(f"{n:>12}" for n in results))
    for c in cols:
        print(f"{c:>20}" + "".join(f"{results[n].get(c, '-'):>12.1f}" if isinstance(results[n].get(c), float)
                                   else f"{str(results[n].get(c, '-')):>12}" for n in results))
    if "postgres" in results:
        s, p = results["sqlite"], results["postgres"]
        print(f"\npostgres / sqlite: requests/s x{p['rps'] / s['rps']:.2f}, p95 latency x{p['p95'] / s['p95']:.2f}")
    for n, r in results.items():
        if r["errors"]:
            print(f"{n} errors (first 5): {r['errors']}")
    sys.exit(0 if all(r["ok"] for r in results.values()) else 1)


if __name__ == "__main__":
    main()
