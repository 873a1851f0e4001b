"""Accounts and sessions: argon2 password hashes, random session tokens (only their SHA-256 is stored) with expiry,
and one CSRF token per session that every form must echo back.

Hardening: user names are NFKC-normalised, 1-64 characters, no control characters; after `MAX_FAILURES` failed
logins for one user name (or `MAX_CLIENT_FAILURES` from one client address) within `LOCKOUT`, further attempts are
refused with `Throttled` until the window passes; a login can revoke the user's other sessions; expired sessions are
deleted (on use, and all of them at every login)."""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.engine import Engine

from clinqa.rating.db import login_failures, sessions, users

POOLS = ("physician", "lay")
MAX_NAME = 64
MAX_PASSWORD = 1024
MAX_FAILURES, MAX_CLIENT_FAILURES = 5, 50
LOCKOUT = timedelta(minutes=15)
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


class Throttled(RuntimeError):
    """Too many failed logins; `retry_after` seconds until the next attempt is allowed."""

    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        super().__init__(f"too many failed logins; try again in {max(1, retry_after // 60)} minute(s)")


def now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def normalize_username(username: str) -> str:
    """NFKC form, surrounding spaces dropped; ValueError naming the problem for a name that cannot be a user name."""
    name = unicodedata.normalize("NFKC", str(username)).strip()
    if not name:
        raise ValueError("username: a user needs a name")
    if len(name) > MAX_NAME:
        raise ValueError(f"username: at most {MAX_NAME} characters (got {len(name)})")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise ValueError("username: control or invisible characters are not allowed")
    return name


def create_user(engine: Engine, username: str, password: str, pool: str = "physician", is_admin: bool = False) -> User:
    if pool not in POOLS:
        raise ValueError(f"pool must be one of {', '.join(POOLS)}, not {pool!r}")
    username = normalize_username(username)
    if not 8 <= len(password) <= MAX_PASSWORD or "\x00" in password:
        raise ValueError(f"password: 8 to {MAX_PASSWORD} characters, no null bytes")
    with engine.begin() as c:
        if c.execute(select(users.c.id).where(users.c.username == username)).first():
            raise ValueError(f"user {username!r} exists")
        uid = c.execute(insert(users).values(username=username, pool=pool, is_admin=is_admin, created=now(),
                                             password_hash=_hasher.hash(password))).inserted_primary_key[0]
    return User(uid, username, pool, is_admin)


def _user(row) -> User:
    return User(row.id, row.username, row.pool, bool(row.is_admin))


def _check_throttle(engine: Engine, username: str, client: str) -> None:
    since = now() - LOCKOUT
    with engine.connect() as c:
        by_user = c.execute(select(func.count(), func.min(login_failures.c.at))
                            .where(login_failures.c.username == username, login_failures.c.at > since)).first()
        by_client = c.execute(select(func.count(), func.min(login_failures.c.at))
                              .where(login_failures.c.client == client, login_failures.c.at > since)).first()
    for (n, first), limit in ((by_user, MAX_FAILURES), (by_client, MAX_CLIENT_FAILURES)):
        if n >= limit:
            raise Throttled(int((first + LOCKOUT - now()).total_seconds()) + 1)


def authenticate(engine: Engine, username: str, password: str, client: str = "") -> User | None:
    """The user, or None for a wrong name or password (recorded as a failure); raises Throttled while locked out."""
    try:
        username = normalize_username(username)
    except ValueError:
        username = ""
    client = str(client)[:64]
    _check_throttle(engine, username, client)
    row = None
    if username and len(password) <= MAX_PASSWORD and "\x00" not in password:
        with engine.connect() as c:
            row = c.execute(select(users).where(users.c.username == username)).first()
    ok = False
    if row is None:
        _hasher.hash(password[:MAX_PASSWORD])          # same work whether or not the user exists
    else:
        try:
            ok = _hasher.verify(row.password_hash, password)
        except (VerifyMismatchError, InvalidHashError):
            ok = False
    with engine.begin() as c:
        if ok:
            c.execute(delete(login_failures).where(login_failures.c.username == username))
        else:
            c.execute(insert(login_failures).values(username=username, client=client, at=now()))
            c.execute(delete(login_failures).where(login_failures.c.at < now() - LOCKOUT))
    return _user(row) if ok else None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def open_session(engine: Engine, user: User, hours: float = 12.0, revoke_others: bool = False) -> str:
    """Returns the cookie token; the database holds only its hash. Deletes every expired session, and with
    `revoke_others` every other session of this user."""
    token = secrets.token_urlsafe(32)
    with engine.begin() as c:
        gone = sessions.c.expires < now()
        c.execute(delete(sessions).where(or_(gone, sessions.c.user_id == user.id) if revoke_others else gone))
        c.execute(insert(sessions).values(token_hash=_digest(token), user_id=user.id, csrf=secrets.token_urlsafe(24),
                                          expires=now() + timedelta(hours=hours)))
    return token


def revoke_sessions(engine: Engine, user_id: int, keep: str | None = None) -> int:
    """Log the user out everywhere (but the session `keep`); returns how many sessions were closed."""
    with engine.begin() as c:
        q = delete(sessions).where(sessions.c.user_id == user_id)
        if keep:
            q = q.where(sessions.c.token_hash != _digest(keep))
        return c.execute(q).rowcount


def lookup_session(engine: Engine, token: str | None, allow_expired: bool = False) -> Session | None:
    """The live session of this cookie. An expired one is deleted; with `allow_expired` it is still returned (marked
    expired) so that the caller can keep what the rater typed before sending them to log in."""
    if not token:
        return None
    with engine.connect() as c:
        row = c.execute(select(sessions, users).join(users, users.c.id == sessions.c.user_id)
                        .where(sessions.c.token_hash == _digest(token))).first()
    if row is None:
        return None
    expired = row.expires < now()
    if expired:
        close_session(engine, token)
        if not allow_expired:
            return None
    return Session(User(row.user_id, row.username, row.pool, bool(row.is_admin)), row.csrf, expired)


def close_session(engine: Engine, token: str | None) -> None:
    if token:
        with engine.begin() as c:
            c.execute(delete(sessions).where(sessions.c.token_hash == _digest(token)))


def csrf_ok(expected: str | None, given: str | None) -> bool:
    if not expected or not given:
        return False
    return secrets.compare_digest(str(expected).encode("utf-8", "replace"), str(given).encode("utf-8", "replace"))
