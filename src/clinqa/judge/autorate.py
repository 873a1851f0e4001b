"""Automatic rater: an LLM grader applying the human study's rubric (12 physician axes, 2 lay axes, or the 9 pairwise
axes) through any backend.

The grader is asked for one JSON object mapping every axis key to one of that axis's allowed values. Output is
accepted only if every axis is present with an allowed value (case and surrounding punctuation are forgiven); a
"key: value" line format is accepted as well. Where the backend can constrain (llama.cpp, vLLM, openai in chat mode)
the reply is decoded under the rubric's JSON schema (`clinqa.eval.grading`), so it parses unless cut off by
max_tokens. On malformed output it retries (greedy first, then sampled with new seeds). Every attempt's raw text is stored with the rating, and a rating that never
parsed is stored as failed.
Pairwise: the two answers are shown in a seeded random order, recorded so that analysis can un-blind it.
`autorate` runs the ratings through the eval core (`run_eval`): each rating is a sample, `RubricScorer` grades it,
`eval.recorders.RatingRecorder` keeps it in the store's `ratings`.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from typing import Sequence

from clinqa.data.rubric import Axis, Rubric, load_rubric
from clinqa.eval.config import EvalConfig
from clinqa.eval.grading import grade_with_retries, rubric_schema
from clinqa.eval.loop import ProgressFn
from clinqa.eval.recorders import RatingRecorder
from clinqa.eval.run import run_eval
from clinqa.eval.sample import Sample, Score
from clinqa.eval.store import Store
from clinqa.models.base import Backend
from clinqa.prompts.grader import grader_prompt
from clinqa.strategies.base import Outcome
from clinqa.tasks import Task


@dataclass
class AutorateConfig:
    """The settings of `clinqa autorate` (every option of the command is one field here)."""

    grader: list[str] = field(default_factory=lambda: ["smollm2-135m-instruct"], metadata={
        "help": "grader model; repeat for a jury (majority / mean of the graders)"})
    kind: str = field(default="physician", metadata={"help": "physician, lay or pairwise"})
    sources: str | None = field(default=None, metadata={"help": "comma list; pairwise needs exactly two"})
    rubric: str | None = field(default=None, metadata={"help": "rubric JSON (default: the paper's)"})
    retries: int = field(default=3, metadata={"help": "extra attempts after malformed output"})
    seed: int = field(default=0, metadata={"help": "seeds each rating (with its own id) and the pairwise order"})
    concurrency: int | None = field(default=None, metadata={
        "help": "ratings in flight at once, their grader requests batched (default: the backend's own)"})

    def validate(self) -> None:
        if self.concurrency is not None and self.concurrency < 1:
            raise ValueError(f"--concurrency {self.concurrency}: must be at least 1")
        if self.retries < 0:
            raise ValueError(f"--retries {self.retries}: must be 0 or more")

    def source_list(self) -> list[str] | None:
        return [s.strip() for s in self.sources.split(",")] if self.sources else None


class GradeParseError(ValueError):
    pass


def _canon(value: str, axis: Axis) -> str | None:
    v = str(value).strip().strip('"\'.').lower()
    for option in axis.scale:
        if v == option.lower():
            return option
    return None


def parse_grade(text: str, axes: Sequence[Axis]) -> dict[str, str]:
    """{axis key: allowed value} or GradeParseError naming what is wrong."""
    found: dict = {}
    m = re.search(r"\{.*\}", text, re.S)
    if m:
        try:
            obj = json.loads(m.group(0))
            if isinstance(obj, dict):
                found = obj
        except json.JSONDecodeError:
            pass
    if not found:
        for line in text.splitlines():
            k, sep, v = line.partition(":")
            if sep:
                found[k.strip().strip('-*" ').lower()] = v
    out, problems = {}, []
    for a in axes:
        if a.key not in found:
            problems.append(f"{a.key}: missing")
            continue
        value = _canon(found[a.key], a)
        if value is None:
            problems.append(f"{a.key}: {str(found[a.key])[:40]!r} is not one of {list(a.scale)}")
        else:
            out[a.key] = value
    if problems:
        raise GradeParseError("; ".join(problems))
    return out


@dataclass
class Grade:
    values: dict[str, str] | None
    raw: list[str]
    error: str | None


def grade(backend: Backend, kind: str, axes, question: str, answers: Sequence[str], seed: int, retries: int = 3,
          max_tokens: int = 400, constrained: bool = True, via=None) -> Grade:
    """One rating with the grader protocol (`eval.grading`): under the rubric's JSON schema where the backend can
    constrain, otherwise free text started with "{" and parsed. Requests go to `via` (the batcher of a concurrent
    run) or to the backend itself."""
    graded = grade_with_retries(via or backend, [grader_prompt(kind, axes, question, answers)],
                                lambda text: parse_grade(text, axes), [seed], retries, max_tokens,
                                rubric_schema(axes) if constrained else None, prefix="{")[0]
    return Grade(graded.value, graded.raw, graded.error)


class RubricScorer:
    """The rubric grader as an eval-core scorer: one rating of a sample's answer(s) (`metadata["answers"]`) on the
    axes of one kind, through `ctx.grader` (cached per request, batched across ratings in flight). Its identity is
    the kind, the rubric and the grader prompt it renders, so a changed rubric or prompt never resumes into old
    ratings."""

    needs_grader = True

    def __init__(self, kind: str, rubric: Rubric, retries: int = 3):
        self.kind, self.rubric, self.retries = kind, rubric, retries
        self.axes = rubric.axes(kind)
        self.name = f"rubric:{kind}"

    def identity(self) -> dict:
        template = grader_prompt(self.kind, self.axes, "{question}", ["{answer}"] * (2 if self.kind == "pairwise" else 1))
        return {"kind": self.kind, "rubric": self.rubric.name, "retries": self.retries,
                "prompt": hashlib.sha256(template.encode()).hexdigest()[:16]}

    def __call__(self, sample: Sample, outcome, ctx) -> Score:
        answers = sample.metadata["answers"]
        # the seed is the rating's own, so a resumed run grades exactly as an uninterrupted one
        g = grade(ctx.grader, self.kind, self.axes, sample.text, [a["text"] for a in answers],
                  seed=ctx.seed("grade"), retries=self.retries)
        return Score(True if g.values is not None else None, json.dumps(g.values) if g.values else None, g.error or "",
                     {"values": g.values, "raw": g.raw, "error": g.error, "attempts": len(g.raw),
                      "rubric": self.rubric.name, "answer_1": answers[0]["answer_id"],
                      "answer_2": answers[1]["answer_id"] if len(answers) > 1 else None})


class StoredAnswers:
    """The solver of a rating: no model call, the answers being rated are the sample's own."""

    needs_model = False
    chat_template = None

    def identity(self) -> dict:
        return {"solver": "stored answers"}

    def __call__(self, sample: Sample, ctx) -> Outcome:
        return Outcome(completion=sample.metadata["answers"][0]["text"])


def rating_samples(store: Store, kind: str, sources: Sequence[str] | None, rater: str, seed: int = 0) -> list[Sample]:
    """One sample per rating to make: every stored answer (of `sources`, if given) for the independent kinds, every
    question answered by both of two sources for pairwise (the two answers in a seeded random order)."""
    groups = []
    if kind == "pairwise":
        if not sources or len(sources) != 2:
            raise ValueError("pairwise autorating needs exactly two sources, e.g. --sources modelA,physician")
        a, b = ({x["qid"]: x for x in store.answers(s)} for s in sources)
        for qid in [q for q in a if q in b]:
            pair = [a[qid], b[qid]]
            if random.Random(f"{seed}:{qid}").random() < 0.5:
                pair.reverse()
            groups.append((f"{rater}:pairwise:{pair[0]['answer_id']}|{pair[1]['answer_id']}", pair))
    else:
        groups = [(f"{rater}:{kind}:{ans['answer_id']}", [ans]) for ans in store.answers()
                  if not sources or ans["source"] in sources]
    return [Sample(rid, [{"role": "user", "content": pair[0]["question"]}], None, {"answers": pair})
            for rid, pair in groups]


def autorate(store: Store, backend: Backend, kind: str = "physician", sources: Sequence[str] | None = None,
             rubric: Rubric | None = None, retries: int = 3, seed: int = 0, progress: ProgressFn | None = None,
             concurrency: int | None = None) -> list[dict]:
    """Rate every stored answer (independent kinds) or every question answered by both of two sources (pairwise)
    through the eval core's run loop: `concurrency` ratings in flight, their requests batched; each rating seeded from
    its own id, so the ratings depend on neither concurrency nor interruption. The rater `auto:<grader>` refuses to
    resume under a changed grader, rubric, grader prompt or seed."""
    rubric = rubric or load_rubric()
    rater = f"auto:{backend.name}"
    samples = rating_samples(store, kind, sources, rater, seed)
    if samples:
        scorer = RubricScorer(kind, rubric, retries)
        identity = {"grader": backend.name, **scorer.identity(), "sources": list(sources or []), "seed": seed}
        task = Task(f"autorate-{kind}", "custom", lambda split, root: samples, {"test": 0})
        cfg = EvalConfig(dataset=task.name, model=backend.name, seed=seed, order="id", concurrency=concurrency,
                         run_dir=str(store.dir))
        run_eval(task, None, cfg, solver=StoredAnswers(), scorers=[scorer], grader=backend,
                 progress=progress,
                 recorder=RatingRecorder(store, rater, kind, identity))
    return [r for r in store.ratings(rater) if r["kind"] == kind]
