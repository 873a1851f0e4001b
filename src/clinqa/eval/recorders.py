"""Where `run_eval` keeps each finished sample, and what it counts as done: a recorder.

- `ResultRecorder` (the default): one run per run directory; a sample is a row of `results`, the run's identity is
  its configuration (`runs.config`).
- `AnswerRecorder` (`clinqa answer`): a run directory holds many answer sources; a sample is one source's answer to
  one question in `answers`, the identity is the source's own (`runs.config["answer_runs"][source]`).
- `RatingRecorder` (`clinqa autorate`): a sample is one rating of an answer (or of a pair) in `ratings`, by one rater
  of one kind; the identity is that rater's (grader model, rubric, grader prompt: `runs.config["raters"]`).
Each refuses to resume under a changed identity with an error naming the store, and saves one sample per transaction,
so a kill loses at most the samples in flight. A recorder that names its own identity (`identity`) keeps it over the
one `run_eval` derives from its config, so the stores written before the eval core resume as they were.
"""

from __future__ import annotations

from dataclasses import dataclass

from clinqa.eval.store import Store


class ResultRecorder:
    identity: dict | None = None       # the run's: derived from its config by run_eval

    def __init__(self, store: Store):
        self.store = store

    def done(self) -> set[str]:
        return self.store.done_ids()

    def start(self, identity: dict, described: dict) -> None:
        self.store.init_run(self.store.dir.name, identity, described)

    def save(self, row: dict) -> None:
        self.store.save_result(row)


@dataclass
class AnswerRecorder:
    """One answer source's long-form answers (`row` from run_eval: the completion is the answer)."""

    store: Store
    source: str
    identity: dict
    model: str | None = None

    def done(self) -> set[str]:
        return self.store.done_answers(self.source)

    def start(self, identity: dict, described: dict) -> None:
        self.store.init_answer_source(self.source, identity, described)

    def save(self, row: dict) -> None:
        meta = dict(row["meta"])
        question = next(m["content"] for m in reversed(meta.pop("input")) if m["role"] == "user")
        self.store.save_answer(dict(qid=row["qid"], source=self.source, dataset=row["dataset"], question=question,
                                    text=meta.pop("completion", "").strip(), model=self.model,
                                    prompt=next(iter(row["prompts"].values()), None), params=meta.pop("params", {}),
                                    tokens=row["tokens"], seconds=row["seconds"], extra=meta.pop("extra", {})))


@dataclass
class RatingRecorder:
    """One rater's ratings of one kind; the rating is the first scorer's `Score` (values and raw replies in its
    metadata)."""

    store: Store
    rater: str
    kind: str
    identity: dict

    def done(self) -> set[str]:
        return self.store.rated_ids(self.rater)

    def start(self, identity: dict, described: dict) -> None:
        self.store.init_rater(f"{self.rater}:{self.kind}", identity, described)

    def save(self, row: dict) -> None:
        score = next(iter(row["score"].values()))
        m = score["metadata"]
        self.store.save_rating(dict(rating_id=row["qid"], rater=self.rater, kind=self.kind, answer_id=m["answer_1"],
                                    other_answer_id=m["answer_2"], values=m["values"], ok=m["values"] is not None,
                                    raw=m["raw"], meta={k: m[k] for k in ("error", "attempts", "rubric", "answer_1",
                                                                          "answer_2")}))
