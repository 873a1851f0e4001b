"""Load test of the rating app: N concurrent simulated raters against a real server (`clinqa rate serve`, its own
process, on loopback) for a bounded time, on SQLite and, where a PostgreSQL URL is given, on PostgreSQL.

Each rater logs in, then loops: open the home page, open the next item, submit every axis; one submit in ten is sent
twice (a double click) and must be refused with 409. Afterwards the database is checked: every acknowledged
submission (303) has exactly one rating per axis, no (assignment, axis) appears twice, and no assignment is marked
submitted without its ratings. Prints requests/s, submissions/s and latency percentiles in ms (p50/p95 of the rating requests; logins, which
hash with argon2 on purpose, apart) per database, and PostgreSQL / SQLite ratios.

    python benchmarks/rating_load.py --raters 50 --seconds 20 [--pg postgresql+psycopg://user:pw@127.0.0.1/db]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy import func, select

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


async def rater(name: str, base: str, deadline: float, lat: list, acked: list, errors: list, double: list,
                login_lat: list, double_every: int):
    async with httpx.AsyncClient(base_url=base, timeout=60, follow_redirects=False) as c:
        async def req(method, path, into=lat, **kw):
            t = time.perf_counter()
            r = await c.request(method, path, **kw)
            into.append(time.perf_counter() - t)
            return r
        page = await req("GET", "/login", into=login_lat)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        r = await req("POST", "/login", into=login_lat, data={"username": name, "password": PASSWORD, "csrf": csrf})
        if r.status_code != 303:
            errors.append(f"{name}: login {r.status_code}")
            return
        n = 0
        while time.time() < deadline:
            home = await req("GET", "/")
            m = re.search(r'class="button primary" href="/rate/(\d+)"', home.text)
            if not m:        # all done
                return
            aid = int(m.group(1))
            item = await req("GET", f"/rate/{aid}")
            csrf = re.search(r'name="csrf" value="([^"]+)"', item.text).group(1)
            form = {"csrf": csrf}
            for key, value in re.findall(r'type="radio" name="([a-z_]+)" value="([^"]+)"', item.text):
                form.setdefault(key, value)
            r = await req("POST", f"/rate/{aid}", data=form)
            if r.status_code == 303:
                acked.append(aid)
            else:
                errors.append(f"{name}: submit {aid} -> {r.status_code}")
            n += 1
            if n % double_every == 0:     # a double click: must be refused, must not duplicate
                again = await req("POST", f"/rate/{aid}", data=form)
                double.append(again.status_code)


def run(url: str, raters: int, seconds: float, questions: int, double_every: int = 10) -> dict:
    setup(url, raters, questions)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "clinqa.cli", "rate", "serve", "--db", url, "--no-demo",
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(f"{base}/login", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    lat, acked, errors, double, login_lat = [], [], [], [], []

    async def main():
        deadline = time.time() + seconds
        await asyncio.gather(*[rater(f"r{i:03d}", base, deadline, lat, acked, errors, double, login_lat,
                                     double_every) for i in range(raters)])
    t0 = time.perf_counter()
    asyncio.run(main())
    wall = time.perf_counter() - t0
    server.terminate()
    server.wait(10)
    engine = make_engine(url, create=False)
    with engine.connect() as c:
        rows = c.execute(select(ratings.c.assignment_id, func.count()).group_by(ratings.c.assignment_id)).all()
        submitted = c.execute(select(func.count()).select_from(assignments).where(assignments.c.submitted.isnot(None))).scalar_one()
        total = c.execute(select(func.count()).select_from(ratings)).scalar_one()
    engine.dispose()
    per = dict(rows)
    missing = [a for a in acked if per.get(a) != N_AXES]
    return dict(requests=len(lat) + len(login_lat), rps=(len(lat) + len(login_lat)) / wall,
                p50=1000 * float(np.percentile(lat, 50)), p95=1000 * float(np.percentile(lat, 95)),
                login_p95=1000 * float(np.percentile(login_lat, 95)), submits_per_s=len(acked) / wall, acked=len(acked), unique_acked=len(set(acked)),
                stored_assignments=len(per), submitted=submitted, ratings=total, missing=len(missing),
                double_refused=sum(s == 409 for s in double), doubles=len(double), errors=errors[:5],
                ok=not missing and len(set(acked)) == len(acked) == len(per) == submitted and total == N_AXES * len(per)
                and all(s == 409 for s in double))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--raters", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--questions", type=int, default=600)
    ap.add_argument("--double-every", type=int, default=10, help="every Nth submission of a rater is sent twice")
    ap.add_argument("--pg", default=os.environ.get("CLINQA_TEST_PG_URL"), help="PostgreSQL URL (default $CLINQA_TEST_PG_URL)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    dbs = {"sqlite": f"sqlite:///{tmp / 'load.sqlite'}"}
    if args.pg:
        dbs["postgres"] = args.pg
    results = {}
    for name, url in dbs.items():
        print(f"{name}: {args.raters} raters for {args.seconds:.0f} s ...", flush=True)
        results[name] = run(url, args.raters, args.seconds, args.questions, args.double_every)
    cols = ["requests", "rps", "submits_per_s", "p50", "p95", "login_p95", "acked", "stored_assignments", "ratings",
            "missing", "doubles", "double_refused", "ok"]
    print(f"\n{'':>20}" + "".join(f"{n:>12}" for n in results))
    for c in cols:
        print(f"{c:>20}" + "".join(f"{results[n][c]:>12.1f}" if isinstance(results[n][c], float)
                                   else f"{str(results[n][c]):>12}" for n in results))
    if "postgres" in results:
        s, p = results["sqlite"], results["postgres"]
        print(f"\npostgres / sqlite: requests/s x{p['rps'] / s['rps']:.2f}, p95 latency x{p['p95'] / s['p95']:.2f}")
    for n, r in results.items():
        if r["errors"]:
            print(f"{n} errors (first 5): {r['errors']}")
    sys.exit(0 if all(r["ok"] for r in results.values()) else 1)


if __name__ == "__main__":
    main()
