"""Accounts and sessions: argon2 password hashes, random session tokens (only their SHA-256 is stored) with expiry,
and one CSRF token per session that every form must echo back.

User names follow names.py (NFKC, 1-64 characters, none that looks like an existing user's: same confusable
skeleton, case variants included). Logins are throttled per (user name, client address) as throttle.py says; a
disabled user cannot log in. Sessions slide: while the user is active their expiry is pushed back (at most once a
minute, never waiting for a busy database). An expired session is kept `HOLD` longer (its cookie lives as long), so
that what a rater sends after expiry is still theirs: the routes keep it as the item's draft and ask them to log in
(see routes_rater.py); sessions past the hold are deleted at every login. A login can revoke the user's other
sessions."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from clinqa.rating import throttle
from clinqa.rating.db import now, sessions, users, without_waiting
from clinqa.rating.names import MAX_NAME, confusable_with, normalize_username
from clinqa.rating.throttle import Throttled

__all__ = ["User", "Session", "Throttled", "now", "normalize_username", "create_user", "authenticate", "open_session",
           "revoke_sessions", "lookup_session", "close_session", "csrf_ok", "MAX_NAME"]
POOLS = ("physician", "lay")
MAX_PASSWORD = 1024
HOLD = timedelta(days=7)                 # an expired session (and its cookie) is kept this long for what it sends
TOUCH_EVERY = timedelta(minutes=1)       # sliding expiry: written at most this often per session
_hasher = PasswordHasher()


@dataclass(frozen=True)
class User:
    id: int
    username: str
    pool: str
    is_admin: bool


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str
    expired: bool = False


def create_user(engine: Engine, username: str, password: str, pool: str = "physician", is_admin: bool = False) -> User:
    """ValueError naming the field for a bad pool, name or password, or a name that looks like an existing one."""
    if pool not in POOLS:
        raise ValueError(f"pool must be one of {', '.join(POOLS)}, not {pool!r}")
    username = normalize_username(username)
    if not 8 <= len(password) <= MAX_PASSWORD or "\x00" in password:
        raise ValueError(f"password: 8 to {MAX_PASSWORD} characters, no null bytes")
    digest = _hasher.hash(password)
    with engine.begin() as c:
        if c.execute(select(users.c.id).where(users.c.username == username)).first():
            raise ValueError(f"user {username!r} exists")
        # the write first (it takes SQLite's lock, so concurrent creators queue), then the look-alike check
        uid = c.execute(insert(users).values(username=username, pool=pool, is_admin=is_admin, created=now(),
                                             password_hash=digest, disabled=False)).inserted_primary_key[0]
        others = c.execute(select(users.c.username).where(users.c.id != uid)).scalars().all()
        twin = confusable_with(username, others)
        if twin is not None:
            raise ValueError(f"username: {username!r} looks like the existing user {twin!r}; choose another name")
    return User(uid, username, pool, is_admin)


def _user(row) -> User:
    return User(row.id, row.username, row.pool, bool(row.is_admin))


def authenticate(engine: Engine, username: str, password: str, client: str = "") -> User | None:
    """The user, or None for a wrong name or password or a disabled user (recorded as a failure of this name from
    this client); raises Throttled while this name must wait at this client (throttle.py)."""
    try:
        username = normalize_username(username)
    except ValueError:
        username = ""
    throttle.check(engine, username, client)
    row = None
    if username and len(password) <= MAX_PASSWORD and "\x00" not in password:
        with engine.connect() as c:
            row = c.execute(select(users).where(users.c.username == username)).first()
    ok = False
    if row is None:
        _hasher.hash(password[:MAX_PASSWORD])          # same work whether or not the user exists
    else:
        try:
            ok = _hasher.verify(row.password_hash, password) and not row.disabled
        except (VerifyMismatchError, InvalidHashError):
            ok = False
    throttle.record(engine, username, client, ok)
    return _user(row) if ok else None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def open_session(engine: Engine, user: User, hours: float = 12.0, revoke_others: bool = False) -> str:
    """Returns the cookie token; the database holds only its hash. Deletes every session expired for longer than
    `HOLD`, and with `revoke_others` every other session of this user."""
    token = secrets.token_urlsafe(32)
    with engine.begin() as c:
        c.execute(insert(sessions).values(token_hash=_digest(token), user_id=user.id, csrf=secrets.token_urlsafe(24),
                                          expires=now() + timedelta(hours=hours)))
        gone = sessions.c.expires < now() - HOLD
        mine = (sessions.c.user_id == user.id) & (sessions.c.token_hash != _digest(token))
        c.execute(delete(sessions).where(or_(gone, mine) if revoke_others else gone))
    return token


def revoke_sessions(engine: Engine, user_id: int, keep: str | None = None) -> int:
    """Log the user out everywhere (but the session `keep`); returns how many sessions were closed."""
    with engine.begin() as c:
        q = delete(sessions).where(sessions.c.user_id == user_id)
        if keep:
            q = q.where(sessions.c.token_hash != _digest(keep))
        return c.execute(q).rowcount


def lookup_session(engine: Engine, token: str | None, allow_expired: bool = False,
                   extend: timedelta | None = None) -> Session | None:
    """The live session of this cookie (None for a disabled user). With `extend`, a live session's expiry is pushed
    to now + extend (sliding; skipped, not waited for, when the database is busy). An expired session (within
    `HOLD`) is returned, marked expired, only with `allow_expired`: the caller may keep what it sent, not act on it."""
    if not token:
        return None
    with engine.connect() as c:
        row = c.execute(select(sessions, users).join(users, users.c.id == sessions.c.user_id)
                        .where(sessions.c.token_hash == _digest(token))).first()
    if row is None or row.disabled:
        return None
    t = now()
    expired = row.expires < t
    if expired and (not allow_expired or row.expires < t - HOLD):
        return None
    if not expired and extend is not None and row.expires < t + extend - TOUCH_EVERY:
        try:
            with without_waiting(engine) as c:
                c.execute(update(sessions).where(sessions.c.token_hash == row.token_hash).values(expires=t + extend))
        except OperationalError:
            pass                                     # busy: the next request extends it
    return Session(User(row.user_id, row.username, row.pool, bool(row.is_admin)), row.csrf, expired)


def close_session(engine: Engine, token: str | None) -> None:
    if token:
        with engine.begin() as c:
            c.execute(delete(sessions).where(sessions.c.token_hash == _digest(token)))


def csrf_ok(expected: str | None, given: str | None) -> bool:
    if not expected or not given:
        return False
    return secrets.compare_digest(str(expected).encode("utf-8", "replace"), str(given).encode("utf-8", "replace"))
