"""The adapter between a plan and clinqa's evaluation API: one function per cell kind, each running one ordinary run
directory through the public API (`run_eval`, `run_answers`, `import_answers_from`, `autorate` / `autorate_jury`,
`create_study`), plus what the plan needs to know about a cell without running it (the questions it plans, what its
run directory already holds, the prompts it would send). This is the only module of `clinqa.plan` that calls the
evaluation API, so when that API changes only this file changes.

`params` of a cell are plain JSON values (they travel to Ray workers); `run_dir` is the cell's absolute directory.
"""

from __future__ import annotations

import csv
import inspect
import json
import secrets
from dataclasses import fields
from pathlib import Path
from typing import Callable

from sqlalchemy import func, select

from clinqa.analysis.active import read_design, select_for_rating, write_design
from clinqa.extras import require
from clinqa.logs import import_answers_from
from clinqa.longform.answer import AnswerConfig, answer_solver, answer_task, questions_for, run_answers
from clinqa.judge.autorate import autorate, grade, rating_samples
from clinqa.judge.jury import autorate_jury
from clinqa.models.base import GenResult
from clinqa.models.resolve import load_model
from clinqa.prompts import get_protocol
from clinqa.prompts.grader import grader_prompt
from clinqa.rating.db import make_engine, users
from clinqa.data.rubric import load_rubric
from clinqa.eval import EvalConfig, StrategySolver, plan_samples, run_eval
from clinqa.eval.store import DB_NAME, Store, results
from clinqa.tasks import get_task

Progress = Callable[[int, int], None]
GRADES = "grades"        # marker files of finished grading cells, inside the long-form set's run directory


_BACKENDS: dict = {}


def backend(spec: str, chat_template: bool | None = None, dtype: str = "auto"):
    """A loaded model, kept for the next cell of this process (or Ray worker) that uses the same one."""
    key = (spec, chat_template, dtype)
    if key not in _BACKENDS:
        _BACKENDS[key] = load_model(spec, chat_template=chat_template, dtype=dtype)
    return _BACKENDS[key]


def _known(cls, params: dict) -> dict:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in params.items() if k in names}


# -- multiple choice: one `clinqa bench` run directory per (task, strategy, model) -------------------------------------
def mc_config(params: dict, run_dir: Path | None = None) -> EvalConfig:
    return EvalConfig(**_known(EvalConfig, params), run_dir=str(run_dir) if run_dir else None)


def mc_dir_name(params: dict) -> str:
    """The directory `clinqa bench` itself would choose for these options (so `bench --runs-root <root>/mc` resumes it)."""
    return mc_config(params).default_run_dir(".").name


def run_mc(params: dict, run_dir: Path, progress: Progress | None = None) -> None:
    cfg = mc_config(params, run_dir)
    chat = cfg.chat_template if cfg.chat_template is not None else get_protocol(cfg.protocol).chat_template
    run_eval(config=cfg, model=backend(cfg.model, chat, cfg.dtype),
             progress=(lambda d, t, info: progress(d, t)) if progress else None)


def _mc_plan(params: dict):
    """The cell's config, its solver (strategy + exemplars) and the samples it plans, as `run_eval` would make them."""
    cfg = mc_config(params)
    task = get_task(cfg.dataset)
    questions = task.load(cfg.split, cfg.data_dir)
    solver = StrategySolver.for_task(task, cfg, questions[0])
    return cfg, solver, plan_samples(cfg, solver.excluded_ids(task, questions), task, questions)


def mc_planned(params: dict) -> int:
    return len(_mc_plan(params)[2])


class RecordingContext:
    """Stands in for the model while a strategy builds its prompts: records every request and answers it with a
    filler reasoning as long as the request's token budget (4 characters a token), ending in a parseable answer."""

    def __init__(self):
        self.requests = []

    def seed(self, stage: str) -> int:
        return 0

    def generate(self, stage, request):
        self.requests.append(request)
        text = "x " * (2 * request.max_tokens - 12) + " the answer is (A)"
        return GenResult([text] * request.n, [request.max_tokens] * request.n, len(request.prompt) // 4)

    def loglikelihood(self, stage, pairs):
        self.requests += [("loglik", c + x) for c, x in pairs]
        return [0.0] * len(pairs)


def mc_requests(params: dict, sample: int = 3) -> tuple[int, list[list]]:
    """(questions the cell plans, [the requests the strategy sends for each of the first `sample` questions])."""
    _, solver, samples = _mc_plan(params)
    out = []
    for smp in samples[:sample]:
        ctx = RecordingContext()
        solver(smp, ctx)
        out.append(ctx.requests)
    return len(samples), out


def mc_progress(run_dir: Path) -> tuple[int, int]:
    """(questions finished, tokens generated) in a bench run directory; (0, 0) before it exists."""
    if not (run_dir / DB_NAME).is_file():
        return 0, 0
    with Store(run_dir).engine.connect() as c:
        n, tokens = c.execute(select(func.count(), func.sum(results.c.tokens))).one()
    return int(n or 0), int(tokens or 0)


# -- long-form answers: sources of one set share one `clinqa answer` run directory ---------------------------------------
def answer_config(params: dict, run_dir: Path) -> AnswerConfig:
    return AnswerConfig(**_known(AnswerConfig, params), run_dir=str(run_dir))


def run_longform(params: dict, run_dir: Path, progress: Progress | None = None) -> None:
    cfg = answer_config(params, run_dir)
    run_answers(cfg, backend(cfg.model, cfg.chat_template),
                progress=(lambda d, t, info: progress(d, t)) if progress else None)


def answers_planned(params: dict) -> list:
    return questions_for(answer_config(params, Path(".")))


def answers_prompts(params: dict, sample: int = 3) -> tuple[int, list[str], int]:
    """(questions, the prompts of the first `sample`, max_tokens) of an answers cell, as `run_answers` builds them."""
    cfg = answer_config(params, Path("."))
    qs = questions_for(cfg)
    solver = answer_solver(cfg, answer_task(cfg))
    return len(qs), [solver.prompt(q) for q in qs[:sample]], cfg.max_tokens


def grade_prompt(kind: str, answer_chars: int, rubric: str | None = None) -> tuple[str, int]:
    """(a grader prompt for answers of `answer_chars` characters, the grader's max_tokens), as `autorate` sends it."""
    axes = load_rubric(rubric).axes(kind)
    answers = ["x " * (answer_chars // 2)] * (2 if kind == "pairwise" else 1)
    return grader_prompt(kind, axes, "q " * 20, answers), inspect.signature(grade).parameters["max_tokens"].default


def answers_progress(run_dir: Path, source: str) -> tuple[int, int]:
    if not (run_dir / DB_NAME).is_file():
        return 0, 0
    rows = Store(run_dir).answers(source)
    return len(rows), sum(r["tokens"] or 0 for r in rows)


def import_count(params: dict) -> int | None:
    """Answers in an import file: data rows of a CSV, lines of a JSONL (None for other formats)."""
    path = Path(params["path"])
    if path.suffix.lower() == ".csv":
        with open(path, encoding="utf-8", newline="") as fh:
            return sum(1 for _ in csv.DictReader(fh))
    if path.suffix.lower() == ".jsonl":
        return sum(1 for line in path.open(encoding="utf-8") if line.strip())
    return None


def run_import(params: dict, run_dir: Path, progress: Progress | None = None) -> None:
    import_answers_from(params["path"], params["source"], run_dir)


# -- grading: a grader or a jury over the set's stored answers ---------------------------------------------------------
def grade_jobs(store: Store, kind: str, sources: list[str] | None) -> int:
    """How many ratings of this kind one grader makes (the samples `autorate` rates)."""
    return len(rating_samples(store, kind, sources, rater="planned"))


def run_grade(params: dict, run_dir: Path, progress: Progress | None = None) -> None:
    store = Store.open_existing(run_dir)
    rubric = load_rubric(params.get("rubric"))
    backends = [backend(spec) for spec in params["models"]]
    raters = {}
    for kind in params["kinds"]:
        if len(backends) == 1:
            autorate(store, backends[0], kind, params.get("sources"), rubric, params["retries"],
                     progress=(lambda d, t, info: progress(d, t)) if progress else None)
            raters[kind] = [f"auto:{backends[0].name}"]
        else:
            by = autorate_jury(store, backends, kind, params.get("sources"), rubric, params["retries"],
                               progress=(lambda name, d, t: progress(d, t)) if progress else None)
            raters[kind] = list(by)
    marker = run_dir / GRADES / f"{params['label']}.json"
    marker.parent.mkdir(exist_ok=True)
    marker.write_text(json.dumps({"raters": raters, "models": params["models"]}))


def grade_progress(run_dir: Path, params: dict) -> tuple[int, int, bool]:
    """(ratings made, ratings planned, finished) of a grading cell."""
    if not (run_dir / DB_NAME).is_file():
        return 0, 0, False
    store = Store(run_dir)
    marker = run_dir / GRADES / f"{params['label']}.json"
    raters = json.loads(marker.read_text())["raters"] if marker.is_file() else {}
    planned = sum(grade_jobs(store, k, params.get("sources")) * len(params["models"]) for k in params["kinds"])
    made = 0
    for kind in params["kinds"]:
        for rater in raters.get(kind, []):
            if rater.startswith("auto:"):
                made += sum(1 for r in store.ratings(rater) if r["kind"] == kind)
    return made, planned, bool(raters) and made >= planned


# -- the human study ---------------------------------------------------------------------------------------------------
def study_engine(params: dict):
    return make_engine(params["db"])


def study_exists(params: dict) -> bool:
    require("rating", "the plan's study")
    from clinqa.rating.study import study_by_name     # the `rating` extra (argon2)
    if params["db"].startswith("sqlite:///") and not Path(params["db"][len("sqlite:///"):]).is_file():
        return False
    try:
        return study_by_name(study_engine(params), params["name"]) is not None
    except ValueError:         # no study of that name yet
        return False


def run_study(params: dict, run_dir: Path, progress: Progress | None = None) -> None:
    """Create rater accounts named in the plan (passwords in raters.txt, mode 600), select answers with the judges
    when the plan gives a budget (`clinqa judge select`, one design file per set), then create the study."""
    require("rating", "the plan's study (rater accounts)")
    from clinqa.rating.auth import create_user        # the `rating` extra (argon2), needed by this cell only
    from clinqa.rating.study import StudyConfig, create_study
    run_dir.mkdir(parents=True, exist_ok=True)
    engine = study_engine(params)
    with engine.connect() as c:
        have = {r.username for r in c.execute(select(users.c.username))}
    created = []
    for pool, names in params.get("raters", {}).items():
        for name in names:
            if name not in have:
                password = secrets.token_urlsafe(12)
                create_user(engine, name, password, pool)
                created.append(f"{name}\t{pool}\t{password}\n")
    if created:
        path = run_dir / "raters.txt"
        with open(path, "a") as fh:
            fh.writelines(created)
        path.chmod(0o600)
    answers = []
    for set_dir in params["sets"]:
        rows = Store.open_existing(set_dir).answers()
        if params.get("select_budget"):
            design = run_dir / f"design-{Path(set_dir).name}.jsonl"
            write_design(select_for_rating(Store.open_existing(set_dir), params["select_budget"], "physician",
                                           seed=params["seed"]), design)
            chosen = {aid for aid, (_, selected) in read_design(design).items() if selected}
            rows = [r for r in rows if r["answer_id"] in chosen]
        answers += rows
    cfg = StudyConfig(params["name"], list(params["sources"]), params["physician"], params["lay"], params["pairwise"],
                      seed=params["seed"])
    create_study(engine, cfg, answers)
