"""Login throttling that slows password guessing without handing an attacker a lock-out switch (OWASP Authentication
Cheat Sheet, "Login Throttling"): failures are counted per (user name, client address) pair, so a name hammered from
one address never locks its owner out at another, and names made up by one client cost the real users behind the
same address (a clinic's NAT) nothing.

After `FREE_FAILURES` failures of a pair within `WINDOW`, each further attempt for that pair must wait a delay that
doubles with every failure (`FIRST_DELAY`, 2x, 4x ... up to `MAX_DELAY`), counted from the last failure; an attempt
made sooner is refused (`Throttled`, answered 429 with Retry-After) without checking the password or counting it.
An address with `CLIENT_BUDGET` failures within `WINDOW` (password spraying) is held to `MAX_DELAY` for every name
that has already failed from it, while names that have not (the other users behind it) log in as before. A
successful login clears its pair's failures."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, delete, func, insert, select
from sqlalchemy.engine import Engine

from clinqa.rating.db import login_failures, now

FREE_FAILURES = 3
FIRST_DELAY = timedelta(seconds=2)
MAX_DELAY = timedelta(minutes=15)
WINDOW = timedelta(hours=1)
CLIENT_BUDGET = 100
MAX_CLIENT = 64         # characters of a client address kept


class Throttled(RuntimeError):
    """Too many failed logins for this name from this address; `retry_after` seconds until the next attempt."""

    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        wait = f"{retry_after} seconds" if retry_after < 120 else f"{retry_after // 60} minutes"
        super().__init__(f"too many failed logins for this user name from your address; try again in {wait}")


def delay_after(failures: int) -> timedelta:
    """How long after the last failure a pair with this many failures must wait."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    return min(FIRST_DELAY * 2 ** min(failures - FREE_FAILURES, 20), MAX_DELAY)


def check(engine: Engine, username: str, client: str) -> None:
    """Raise Throttled while this (name, address) pair must wait."""
    client = str(client)[:MAX_CLIENT]
    since = now() - WINDOW
    recent = login_failures.c.at > since
    with engine.connect() as c:
        n, last = c.execute(select(func.count(), func.max(login_failures.c.at)).where(
            recent, login_failures.c.username == username, login_failures.c.client == client)).first()
        if not n:
            return
        wait = delay_after(n)
        if c.execute(select(func.count()).where(and_(recent, login_failures.c.client == client))
                     .select_from(login_failures)).scalar_one() >= CLIENT_BUDGET:
            wait = MAX_DELAY
    left = (last + wait - now()).total_seconds()
    if left > 0:
        raise Throttled(int(left) + 1)


def record(engine: Engine, username: str, client: str, ok: bool) -> None:
    """A failure is stored (and failures older than the window dropped); a success clears its pair's failures."""
    client = str(client)[:MAX_CLIENT]
    with engine.begin() as c:
        if ok:
            c.execute(delete(login_failures).where(login_failures.c.username == username,
                                                   login_failures.c.client == client))
        else:
            c.execute(insert(login_failures).values(username=username, client=client, at=now()))
            c.execute(delete(login_failures).where(login_failures.c.at < now() - WINDOW))
