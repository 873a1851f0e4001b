"""What an admin does to an existing user (admin page and `clinqa rate disable-user / delete-user`): disable (or
enable again) - the user cannot log in and every session of theirs is closed, their ratings stay - and delete, which
removes the user with their sessions and unsubmitted assignments and is refused once they have submitted a rating
(ratings are never deleted: disable them instead). An admin cannot disable or delete their own account."""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Engine

from clinqa.rating.db import assignments, ratings, sessions, users
from clinqa.rating.names import normalize_username


def user_id(engine: Engine, username: str) -> int:
    """The id of the user with this name; ValueError naming it when there is none."""
    name = normalize_username(username)
    with engine.connect() as c:
        uid = c.execute(select(users.c.id).where(users.c.username == name)).scalar()
    if uid is None:
        raise ValueError(f"no user {name!r}")
    return uid


def _not_self(uid: int, acting_id: int | None, what: str) -> None:
    if acting_id is not None and uid == acting_id:
        raise ValueError(f"you cannot {what} your own account")


def set_disabled(engine: Engine, username: str, disabled: bool = True, acting_id: int | None = None) -> int:
    """Disable (or enable) a user; disabling closes all their sessions. Returns the number of sessions closed."""
    uid = user_id(engine, username)
    _not_self(uid, acting_id, "disable")
    with engine.begin() as c:
        c.execute(update(users).where(users.c.id == uid).values(disabled=disabled))
        return c.execute(delete(sessions).where(sessions.c.user_id == uid)).rowcount if disabled else 0


def delete_user(engine: Engine, username: str, acting_id: int | None = None) -> int:
    """Delete a user who has submitted nothing, with their sessions and assignments; returns how many assignments
    went (their items then have fewer raters: assign again if needed). ValueError once they have ratings."""
    uid = user_id(engine, username)
    _not_self(uid, acting_id, "delete")
    with engine.begin() as c:
        c.execute(update(users).where(users.c.id == uid).values(disabled=True))     # the write first: holds the lock
        n = c.execute(select(func.count()).select_from(ratings).where(ratings.c.rater_id == uid)).scalar_one()
        if n:
            raise ValueError(f"user {username!r} has {n} submitted ratings, which are never deleted; "
                             f"disable the user instead")
        c.execute(delete(sessions).where(sessions.c.user_id == uid))
        gone = c.execute(delete(assignments).where(assignments.c.rater_id == uid)).rowcount
        c.execute(delete(users).where(users.c.id == uid))
    return gone
