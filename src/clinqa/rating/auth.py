"""Accounts and sessions: argon2 password hashes, random session tokens (only their SHA-256 is stored) with expiry,
and one CSRF token per session that every form must echo back."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine

from clinqa.rating.db import sessions, users

POOLS = ("physician", "lay")
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


def now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def create_user(engine: Engine, username: str, password: str, pool: str = "physician", is_admin: bool = False) -> User:
    if pool not in POOLS:
        raise ValueError(f"pool must be one of {', '.join(POOLS)}, not {pool!r}")
    if not username.strip() or len(password) < 8:
        raise ValueError("a user needs a name and a password of at least 8 characters")
    with engine.begin() as c:
        if c.execute(select(users.c.id).where(users.c.username == username)).first():
            raise ValueError(f"user {username!r} exists")
        uid = c.execute(insert(users).values(username=username, pool=pool, is_admin=is_admin, created=now(),
                                             password_hash=_hasher.hash(password))).inserted_primary_key[0]
    return User(uid, username, pool, is_admin)


def _user(row) -> User:
    return User(row.id, row.username, row.pool, bool(row.is_admin))


def authenticate(engine: Engine, username: str, password: str) -> User | None:
    with engine.connect() as c:
        row = c.execute(select(users).where(users.c.username == username)).first()
    if row is None:
        _hasher.hash(password)          # same work whether or not the user exists
        return None
    try:
        _hasher.verify(row.password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return None
    return _user(row)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(engine: Engine, user: User, hours: float = 12.0) -> str:
    """Returns the cookie token; the database holds only its hash."""
    token = secrets.token_urlsafe(32)
    with engine.begin() as c:
        c.execute(insert(sessions).values(token_hash=_digest(token), user_id=user.id, csrf=secrets.token_urlsafe(24),
                                          expires=now() + timedelta(hours=hours)))
    return token


def lookup_session(engine: Engine, token: str | None) -> Session | None:
    if not token:
        return None
    with engine.connect() as c:
        row = c.execute(select(sessions, users).join(users, users.c.id == sessions.c.user_id)
                        .where(sessions.c.token_hash == _digest(token))).first()
    if row is None or row.expires < now():
        return None
    return Session(User(row.user_id, row.username, row.pool, bool(row.is_admin)), row.csrf)


def close_session(engine: Engine, token: str | None) -> None:
    if token:
        with engine.begin() as c:
            c.execute(delete(sessions).where(sessions.c.token_hash == _digest(token)))


def csrf_ok(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and secrets.compare_digest(expected, given)
