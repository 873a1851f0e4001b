"""Rating study databases made before alembic (the first release's tables, or everything but a version) are stamped
from what they have and migrated on open, on SQLite and PostgreSQL: rows intact, the same tables, columns and indexes
as a new database, once when several processes open one at once; a revision from a newer clinqa is refused in one
line naming the database (password masked)."""

import re

import pytest
from sqlalchemy import create_engine, inspect, text
from typer.testing import CliRunner

from clinqa.cli import app as cli
from clinqa.data.errors import DataError
from clinqa.rating import auth
from clinqa.rating.db import make_engine
from clinqa.rating.study import StudyConfig, create_study
from conftest import exit_codes_at_once
from rating_helpers import DB_PARAMS, PASSWORD, answers_run, fresh_db_url

# what the first release lacked, and so databases made before alembic may lack
LATER_COLUMNS = (("items", "gold"), ("assignments", "opened"), ("assignments", "seconds"), ("users", "disabled"))
LATER_TABLES = ("login_failures", "adjudications")


def layout(url: str) -> dict:
    """Every table's columns (with SQL types), indexes and unique constraints."""
    engine = create_engine(url)
    insp = inspect(engine)
    found = {t: ({c["name"]: str(c["type"]) for c in insp.get_columns(t)},
                 sorted((tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(t)),
                 sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(t)))
             for t in insp.get_table_names()}
    engine.dispose()
    return found


def rows(url: str) -> dict:
    """Every row of the first release's tables, by its columns that are in the database."""
    engine = create_engine(url)
    with engine.connect() as c:
        found = {t: sorted(tuple(map(str, r)) for r in c.execute(text(f"SELECT * FROM {t}")))
                 for t in ("users", "studies", "items", "assignments")}
    engine.dispose()
    return found


def revision(url: str) -> list[str]:
    engine = create_engine(url)
    with engine.connect() as c:
        found = [r[0] for r in c.execute(text("SELECT version_num FROM alembic_version"))]
    engine.dispose()
    return found


def made_before_alembic(kind: str, tmp_path, first_release: bool) -> str:
    """A study database with users, a study and its assignments, as clinqa left it before alembic: the first release's
    tables only, or (`first_release` False) every table and column of the last release before alembic."""
    url = fresh_db_url(kind, tmp_path)
    engine = make_engine(url)
    for name in ("ann", "bob"):
        auth.create_user(engine, name, PASSWORD)
    create_study(engine, StudyConfig("m", ["model"], physician_replication=2), answers_run(tmp_path).answers())
    with engine.begin() as c:
        c.execute(text("DROP TABLE alembic_version"))
        if first_release:
            for table in LATER_TABLES:
                c.execute(text(f"DROP TABLE {table}"))
            for table, column in LATER_COLUMNS:
                c.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
    engine.dispose()
    return url


@pytest.mark.parametrize("kind", DB_PARAMS)
@pytest.mark.parametrize("first_release", [True, False], ids=["first-release", "last-before-alembic"])
def test_a_database_made_before_alembic_is_migrated_with_its_rows_intact(kind, tmp_path, first_release):
    url = made_before_alembic(kind, tmp_path, first_release)
    before = rows(url)
    engine = make_engine(url)
    assert revision(url) == ["rating_2"]
    after = rows(url)
    assert before["users"] and before["assignments"]
    if first_release:       # the added columns are empty: the old rows followed by None
        after = {t: [r[:len(before[t][0])] for r in found] for t, found in after.items()}
    assert after == before
    migrated = layout(url)
    assert all(column in migrated[table][0] for table, column in LATER_COLUMNS) and set(LATER_TABLES) <= set(migrated)
    auth.create_user(engine, "cat", PASSWORD)                  # writes what the added columns hold (users.disabled)
    with engine.connect() as c:
        assert {u for u, in c.execute(text("SELECT username FROM users WHERE disabled IS NOT TRUE"))} == {
            "ann", "bob", "cat"}
    engine.dispose()
    (tmp_path / "new").mkdir()
    fresh = fresh_db_url(kind, tmp_path / "new")                 # on PostgreSQL: the same database, emptied
    make_engine(fresh).dispose()
    assert layout(fresh) == migrated


def _open(url: str) -> None:
    make_engine(url).dispose()


@pytest.mark.parametrize("kind", DB_PARAMS)
def test_processes_opening_an_old_database_at_once_migrate_it_once(kind, tmp_path):
    url = made_before_alembic(kind, tmp_path, first_release=True)
    before = rows(url)
    assert exit_codes_at_once(_open, url) == [0] * 4
    assert revision(url) == ["rating_2"] and len(rows(url)["assignments"]) == len(before["assignments"])


@pytest.mark.parametrize("kind", DB_PARAMS)
def test_a_database_from_a_newer_clinqa_is_refused_in_one_line(kind, tmp_path):
    url = fresh_db_url(kind, tmp_path)
    make_engine(url).dispose()
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text("UPDATE alembic_version SET version_num = 'rating_9'"))
    engine.dispose()
    shown = create_engine(url).url.render_as_string(hide_password=True)
    message = f"{shown}: rating database revision rating_9 was written by a newer clinqa (this one knows rating_1, "
    with pytest.raises(DataError, match="^" + re.escape(message)):
        make_engine(url)
    result = CliRunner().invoke(cli, ["rate", "add-user", "dan", "--password", PASSWORD, "--db", url])
    line = " ".join(result.output.split())
    assert result.exit_code == 2 and line.startswith(f"error: {message}") and "Traceback" not in result.output
    assert kind == "sqlite" or ":clinqa@" not in line                        # the password is never printed
    assert revision(url) == ["rating_9"]
