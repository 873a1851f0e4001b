"""What the rating database gained before clinqa used alembic, added to a database that lacks it: gold and
qualification items (`items.gold`), time on item (`assignments.opened`, `assignments.seconds`), disabled users
(`users.disabled`), login throttling (`login_failures`) and adjudication (`adjudications`)."""

from sqlalchemy import JSON, Boolean, Column, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint

from clinqa.data.migrate import add_missing_columns, complete_table

revision = "rating_2"
down_revision = "rating_1"


def upgrade() -> None:
    add_missing_columns("items", Column("gold", JSON))
    add_missing_columns("assignments", Column("opened", DateTime), Column("seconds", Float))
    add_missing_columns("users", Column("disabled", Boolean))
    complete_table("login_failures", Column("id", Integer, primary_key=True),
                   Column("username", String(80), index=True), Column("client", String(64), index=True),
                   Column("at", DateTime, nullable=False))
    complete_table("adjudications", Column("id", Integer, primary_key=True),
                   Column("study_id", Integer, ForeignKey("studies.id"), nullable=False, index=True),
                   Column("item_id", Integer, ForeignKey("items.id"), nullable=False),
                   Column("axis", String(80), nullable=False), Column("value", String(200), nullable=False),
                   Column("note", Text), Column("admin", String(80)), Column("created", DateTime),
                   UniqueConstraint("item_id", "axis"))
