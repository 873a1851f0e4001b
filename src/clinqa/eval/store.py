"""The single results store: one SQLite file per run directory (SQLAlchemy), written so that a run killed at any point
(Ctrl-C or kill -9) resumes without redoing finished work.

- `runs`: the run's configuration (one row) and its provenance (`eval.provenance`: versions, git revision, model,
  data hashes), with one entry more for each later invocation that resumed or extended it.
- `generations`: every model call, keyed by (question, stage): prompt, texts, token counts, timing. A strategy that is
  interrupted between stages (ER stage 1 done, stage 2 not) reuses stage 1 on resume.
- `results`: one row per finished sample: gold, prediction, votes, samples and extracted answers, and every
  scorer's `Score` (`score`, by scorer name).
- `answers`: long-form answers, generated (`clinqa answer`) or imported, one per (source, question), with provenance.
- `ratings`: ratings of answers (automatic grader or human), with the grader's raw text.
Each question commits in one transaction; WAL journaling keeps the file consistent after a kill. The schema is
versioned with alembic; `store_schema.py` migrates an older store on open or refuses it with a clear error.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, fields
from pathlib import Path

from sqlalchemy import JSON, Boolean, Column, Float, Integer, MetaData, String, Table, Text, create_engine, event, select
from sqlalchemy.dialects.sqlite import insert

from clinqa.data.sqlite_wal import set_wal
from clinqa.models.base import GenRequest, GenResult
from clinqa.eval.store_schema import ensure_schema

meta = MetaData()
runs = Table("runs", meta, Column("run_id", String, primary_key=True), Column("config", JSON),
             Column("model", JSON), Column("created", Float), Column("provenance", JSON))
generations = Table("generations", meta, Column("qid", String, primary_key=True), Column("stage", String, primary_key=True),
                    Column("prompt", Text), Column("texts", JSON), Column("tokens", JSON), Column("prompt_tokens", Integer),
                    Column("seconds", Float), Column("request", JSON))
results = Table("results", meta, Column("qid", String, primary_key=True), Column("position", Integer),
                Column("dataset", String), Column("subject", String), Column("gold", String),
                Column("prediction", String), Column("correct", Boolean), Column("n_samples", Integer),
                Column("n_unparsed", Integer), Column("tokens", Integer), Column("seconds", Float),
                Column("votes", JSON), Column("samples", JSON), Column("prompts", JSON), Column("scores", JSON),
                Column("meta", JSON), Column("finished", Float), Column("score", JSON))

answers = Table("answers", meta, Column("answer_id", String, primary_key=True), Column("qid", String),
                Column("source", String), Column("dataset", String), Column("question", Text), Column("text", Text),
                Column("model", String), Column("prompt", Text), Column("params", JSON), Column("tokens", Integer),
                Column("seconds", Float), Column("extra", JSON), Column("created", Float))
ratings = Table("ratings", meta, Column("rating_id", String, primary_key=True), Column("rater", String),
                Column("kind", String), Column("answer_id", String), Column("other_answer_id", String),
                Column("values", JSON), Column("ok", Boolean), Column("raw", JSON), Column("meta", JSON),
                Column("created", Float))

DB_NAME = "results.sqlite"
LOCK_WAIT_S = 60        # how long a process waits for another writing or migrating the same store


class AnswerStoreMixin:
    """Long-form answers (generated or imported, with provenance) and ratings (automatic or human) of them."""

    def done_answers(self, source: str) -> set[str]:
        with self.engine.connect() as c:
            return {r.qid for r in c.execute(select(answers.c.qid).where(answers.c.source == source))}

    def save_answer(self, row: dict) -> None:
        with self.engine.begin() as c:
            c.execute(insert(answers).values(**row, answer_id=f"{row['source']}:{row['qid']}", created=time.time())
                      .on_conflict_do_nothing())

    def _listing(self, table: Table, column: str, value: str | None) -> list[dict]:
        """All rows of `table` in creation order, only those with `column == value` when a value is given."""
        q = select(table).order_by(table.c.created)
        if value:
            q = q.where(table.c[column] == value)
        with self.engine.connect() as c:
            return [dict(r._mapping) for r in c.execute(q)]

    def answers(self, source: str | None = None) -> list[dict]:
        return self._listing(answers, "source", source)

    def sources(self) -> list[str]:
        with self.engine.connect() as c:
            return sorted({r.source for r in c.execute(select(answers.c.source))})

    def save_rating(self, row: dict) -> None:
        with self.engine.begin() as c:
            c.execute(insert(ratings).values(**row, created=time.time()).on_conflict_do_nothing())

    def ratings(self, rater: str | None = None) -> list[dict]:
        return self._listing(ratings, "rater", rater)

    def rated_ids(self, rater: str) -> set[str]:
        with self.engine.connect() as c:
            return {r.rating_id for r in c.execute(select(ratings.c.rating_id).where(ratings.c.rater == rater))}


class Store(AnswerStoreMixin):
    def __init__(self, run_dir: str | Path):
        self.dir = Path(run_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / DB_NAME
        self.engine = create_engine(f"sqlite:///{self.path}", connect_args={"timeout": LOCK_WAIT_S})
        event.listen(self.engine, "connect", lambda c, _: set_wal(c, LOCK_WAIT_S))
        ensure_schema(self.path, meta, self.engine)   # versioned: migrates an older store, refuses an unknown one

    @classmethod
    def open_existing(cls, run: str | Path) -> "Store":
        p = Path(run)
        p = p.parent if p.name == DB_NAME else p
        if not (p / DB_NAME).is_file():
            raise FileNotFoundError(f"{p}: no {DB_NAME} here; is this a run directory from `clinqa bench`?")
        return cls(p)

    # -- run config --------------------------------------------------------------------------------------------
    def init_run(self, run_id: str, config: dict, model: dict) -> dict:
        """Record the config; on resume, refuse a config that differs from the stored one."""
        with self.engine.begin() as c:
            row = c.execute(select(runs)).first()
            if row is None:
                c.execute(runs.insert().values(run_id=run_id, config=config, model=model, created=time.time()))
                return config
        if row.config != config:
            diff = {k: (row.config.get(k), config.get(k)) for k in set(row.config) | set(config)
                    if row.config.get(k) != config.get(k)}
            raise ValueError(f"{self.path}: this run directory holds a run with a different configuration {diff}; "
                             "use another --run-dir or the same options")
        return row.config

    def init_answer_source(self, source: str, config: dict, model: dict) -> None:
        """Record how an answer source is generated; refuse a different configuration for a source already here."""
        self._init_part("answer_runs", source, config, model, f"answer source {source!r} was generated",
                        "use another --source or --run-dir, or the same options")

    def init_rater(self, rater: str, config: dict, model: dict) -> None:
        """Record how a rater (an automatic grader of one kind) rates; refuse a changed grader, rubric or prompt."""
        self._init_part("raters", rater, config, model, f"rater {rater!r} rated",
                        "use the same grader options, or another run directory (a copy) for the new ratings")

    def _init_part(self, section: str, name: str, config: dict, model: dict, what: str, advice: str) -> None:
        """One of several runs kept in this store under `runs.config[section][name]`."""
        with self.engine.begin() as c:
            _lock(c)
            row = c.execute(select(runs)).first()
            if row is None:
                c.execute(runs.insert().values(run_id=self.dir.name, config={section: {name: config}},
                                               model=model, created=time.time()))
                return
            parts = dict((row.config or {}).get(section, {}))
            old = parts.get(name)
            if old is not None and old != config:
                diff = {k: (old.get(k), config.get(k)) for k in set(old) | set(config) if old.get(k) != config.get(k)}
                raise ValueError(f"{self.path}: {what} with a different configuration {diff}; {advice}")
            if old is None:
                c.execute(runs.update().values(config={**(row.config or {}), section: {**parts, name: config}}))

    def record_provenance(self, entry: dict) -> None:
        """Add this invocation's provenance: the first becomes `created`, later ones are appended to `resumed`."""
        with self.engine.begin() as c:
            _lock(c)
            row = c.execute(select(runs)).first()
            old = dict(row.provenance or {})
            new = {**old, "resumed": [*old.get("resumed", []), entry]} if old else {"created": entry}
            c.execute(runs.update().values(provenance=new))

    def run_info(self) -> dict:
        with self.engine.connect() as c:
            row = c.execute(select(runs)).first()
        return {"run_id": row.run_id, "config": row.config, "model": row.model, "created": row.created,
                "provenance": row.provenance or {}} if row else {}

    # -- generations cache ---------------------------------------------------------------------------------------
    def cached_generation(self, qid: str, stage: str, request=None) -> GenResult | None:
        """The stored call for (question, stage); a miss when `request` is given and differs from the stored one
        (e.g. an ER stage-2 prompt built from a different set of stage-1 reasonings)."""
        with self.engine.connect() as c:
            row = c.execute(select(generations).where(generations.c.qid == qid, generations.c.stage == stage)).first()
        if row is None or (request is not None and request_key(row.request) != request_key(asdict(request))):
            return None
        return GenResult(row.texts, row.tokens, row.prompt_tokens, row.seconds, rendered_prompt=row.prompt,
                         meta={"cached": True})

    def save_generation(self, qid: str, stage: str, result: GenResult, request) -> None:
        with self.engine.begin() as c:
            c.execute(insert(generations).values(qid=qid, stage=stage, prompt=result.rendered_prompt, texts=result.texts,
                                                 tokens=result.completion_tokens, prompt_tokens=result.prompt_tokens,
                                                 seconds=result.seconds, request=asdict(request))
                      .on_conflict_do_update(index_elements=["qid", "stage"], set_=dict(
                          prompt=result.rendered_prompt, texts=result.texts, tokens=result.completion_tokens,
                          prompt_tokens=result.prompt_tokens, seconds=result.seconds, request=asdict(request))))

    # -- results -------------------------------------------------------------------------------------------------
    def done_ids(self) -> set[str]:
        with self.engine.connect() as c:
            return {r.qid for r in c.execute(select(results.c.qid))}

    def save_result(self, row: dict) -> None:
        with self.engine.begin() as c:
            c.execute(insert(results).values(**row, finished=time.time()).on_conflict_do_nothing())

    def results(self) -> list[dict]:
        with self.engine.connect() as c:
            return [dict(r._mapping) for r in c.execute(select(results).order_by(results.c.position))]


def _lock(c) -> None:
    """Take the store's write lock before a read-modify-write of the runs row (SQLite's driver would otherwise begin
    the transaction only at the write, and two processes could each append to what they read and lose an entry)."""
    c.execute(runs.update().where(runs.c.run_id.is_(None)).values(run_id=None))


REQUEST_DEFAULTS = {f.name: f.default for f in fields(GenRequest)}


def request_key(request: dict | None) -> dict:
    """A stored or new request as compared on resume: fields at their default value are left out, so a request
    stored before a field was added (e.g. `messages`) still matches."""
    d = json.loads(dumps(request or {}))
    defaults = json.loads(dumps(REQUEST_DEFAULTS))
    return {k: v for k, v in d.items() if k not in defaults or v != defaults[k]}


def dumps(obj) -> str:
    return json.dumps(obj, sort_keys=True, default=str)
