"""Schema version 2 of the results store (the eval core): each run's provenance, each result's scores by scorer."""

from alembic import op
from sqlalchemy import JSON, Column

revision = "store_v2"
down_revision = "store_v1"


def upgrade() -> None:
    op.add_column("runs", Column("provenance", JSON))
    op.add_column("results", Column("score", JSON))
