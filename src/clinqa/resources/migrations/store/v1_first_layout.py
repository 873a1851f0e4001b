"""Schema version 1 of the results store (clinqa 0.1): runs, generations, results, answers, ratings.

Stores made before alembic with `PRAGMA user_version = 1` are stamped here. An unversioned store (user_version 0,
written before stores carried a version) runs this revision: the tables it lacks are created and the columns it lacks
added, its rows kept.
"""

from sqlalchemy import JSON, Boolean, Column, Float, Integer, String, Text

from clinqa.data.migrate import complete_table

revision = "store_v1"
down_revision = None


def upgrade() -> None:
    complete_table("runs", Column("run_id", String, primary_key=True), Column("config", JSON), Column("model", JSON),
                   Column("created", Float))
    complete_table("generations", Column("qid", String, primary_key=True), Column("stage", String, primary_key=True),
                   Column("prompt", Text), Column("texts", JSON), Column("tokens", JSON),
                   Column("prompt_tokens", Integer), Column("seconds", Float), Column("request", JSON))
    complete_table("results", Column("qid", String, primary_key=True), Column("position", Integer),
                   Column("dataset", String), Column("subject", String), Column("gold", String),
                   Column("prediction", String), Column("correct", Boolean), Column("n_samples", Integer),
                   Column("n_unparsed", Integer), Column("tokens", Integer), Column("seconds", Float),
                   Column("votes", JSON), Column("samples", JSON), Column("prompts", JSON), Column("scores", JSON),
                   Column("meta", JSON), Column("finished", Float))
    complete_table("answers", Column("answer_id", String, primary_key=True), Column("qid", String),
                   Column("source", String), Column("dataset", String), Column("question", Text),
                   Column("text", Text), Column("model", String), Column("prompt", Text), Column("params", JSON),
                   Column("tokens", Integer), Column("seconds", Float), Column("extra", JSON),
                   Column("created", Float))
    complete_table("ratings", Column("rating_id", String, primary_key=True), Column("rater", String),
                   Column("kind", String), Column("answer_id", String), Column("other_answer_id", String),
                   Column("values", JSON), Column("ok", Boolean), Column("raw", JSON), Column("meta", JSON),
                   Column("created", Float))
