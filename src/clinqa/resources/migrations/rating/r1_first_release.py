"""The rating study database of clinqa's first release: users, sessions, studies, items, assignments, ratings.

No database runs this revision: a new database gets the tables of `clinqa.rating.db` and is stamped at the newest
revision; one made before alembic is stamped here, or later when it already has what later revisions add.
"""

revision = "rating_1"
down_revision = None


def upgrade() -> None:
    pass
