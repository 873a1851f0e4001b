"""`run_eval(task, model, config)`: the one run loop behind `clinqa bench` (every task kind), `clinqa judge
healthbench` and the Python API.

1. The task's records become `Sample`s, taken in the run's seeded order (`EvalConfig.order`), minus exemplars and
   questions a tuned model trained on; `--limit` takes a prefix, so a larger limit extends a run.
2. The run directory's store refuses a changed configuration (the config's identity, plus the solver's and scorers'
   own: a changed rubric, grader prompt or grader model is a different run) and skips finished samples.
3. The model (and a different grader) load only if work remains; each sample's solver and scorers run with seeds
   derived from (seed, sample id, stage), `concurrency` samples in flight, their requests batched together.
4. Each finished sample is one result row, saved at once; a kill loses at most the samples in flight, and the calls
   they had made are reused on resume (`eval.context`).
5. The run log records provenance (`eval.provenance`) for each invocation.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import asdict
from pathlib import Path

from clinqa.data.registry import data_root
from clinqa.eval.batching import batched
from clinqa.eval.config import EvalConfig, question_order, trained_ids
from clinqa.eval.context import SampleContext
from clinqa.eval.loop import ProgressFn, run_items
from clinqa.eval.provenance import data_digests, provenance
from clinqa.eval.recorders import ResultRecorder
from clinqa.eval.sample import Sample, as_sample
from clinqa.eval.scorers import default_scorers, scorer_name
from clinqa.eval.solvers import default_solver
from clinqa.eval.store import Store
from clinqa.models.base import Backend
from clinqa.models.resolve import checkpoint_paths, load_model
from clinqa.strategies.base import Outcome
from clinqa.tasks import Task, get_task


def _identity_of(part) -> dict | str:
    ident = getattr(part, "identity", None)
    if callable(ident):
        return ident()
    named = part if hasattr(part, "__qualname__") else type(part)      # a function, or an instance of a class
    return f"{named.__module__}.{named.__qualname__}"


def run_identity(cfg: EvalConfig, task: Task, solver, scorers: list) -> dict:
    """The config's identity, plus the solver's and scorers' where they are not the multiple-choice defaults (so runs
    made before the eval core keep their identity) and the grader where one grades."""
    ident = cfg.identity()
    if task.kind != "mc" or task.solver is not None or task.scorer is not None:
        ident["solver"] = _identity_of(solver)
        ident["scorers"] = {scorer_name(s): _identity_of(s) for s in scorers}
        if any(getattr(s, "needs_grader", False) for s in scorers):
            ident["grader"] = cfg.grader or cfg.model
    return ident


def plan_samples(cfg: EvalConfig, exclude: set[str] = frozenset(), task: Task | None = None,
                 records: list | None = None) -> list[Sample]:
    """The samples a run evaluates: the task's records in the run's order, less `exclude`, the first `limit`."""
    if records is None:
        records = (task or get_task(cfg.dataset)).load(cfg.split, cfg.data_dir)
    kept = question_order([r for r in records if r.id not in exclude], cfg.order, cfg.seed)
    return [as_sample(r) for r in (kept[:cfg.limit] if cfg.limit is not None else kept)]


def _row(position: int, sample: Sample, out: Outcome, scores: dict, seconds: float, tokens: int) -> dict:
    first = next(iter(scores.values()), None)
    correct = first.value if first is not None and isinstance(first.value, bool) else None
    meta = dict(out.meta)
    if not meta.get("question"):
        meta["input"] = sample.messages
    if out.completion:
        meta["completion"] = out.completion
    if isinstance(sample.target, list) and all(isinstance(t, str) for t in sample.target):
        meta["target"] = sample.target              # long-form reference answers
    return dict(qid=sample.id, position=position, dataset=sample.metadata.get("dataset"),
                subject=sample.metadata.get("subject"), gold=sample.target if isinstance(sample.target, str) else None,
                prediction=out.prediction if out.prediction is not None else (first.answer if first else None),
                correct=correct, n_samples=len(out.samples) or 1, n_unparsed=out.n_unparsed,
                tokens=out.tokens or tokens, seconds=seconds, votes=out.votes,
                samples=[asdict(s) for s in out.samples], prompts=out.prompts, scores=out.scores, meta=meta,
                score={name: asdict(s) for name, s in scores.items()})


def run_eval(task: Task | str | None = None, model: Backend | str | None = None, config: EvalConfig | None = None,
             *, solver=None, scorers: list | None = None, grader: Backend | None = None,
             progress: ProgressFn | None = None, runs_root: str | Path = "runs", recorder=None) -> Store:
    """Run (or resume) `task` on `model` under `config`; returns the store holding every result.

    `task`: a Task or a task name (default: `config.dataset`); `model`: a loaded backend or a model spec (default:
    `config.model`); `solver` / `scorers` replace the task's; `grader`: a loaded grading backend (default: load
    `config.grader`, else the model grades); `recorder`: where finished samples go (`eval.recorders`; default: the
    run directory's `results`)."""
    cfg = config or EvalConfig()
    if isinstance(task, (str, Task)):
        cfg.dataset = task if isinstance(task, str) else task.name
    if isinstance(model, str):
        cfg.model = model
    backend = None if model is None or isinstance(model, str) else model     # a backend, or anything with its calls
    task = task if isinstance(task, Task) else get_task(cfg.dataset)
    cfg.validate(long_form=task.long_form)
    records = task.load(cfg.split, cfg.data_dir)
    solver = solver or default_solver(task, cfg, records[0])
    scorers = scorers if scorers is not None else default_scorers(task, cfg)
    exclude = trained_ids(cfg.exclude_trained) | (solver.excluded_ids(task, records) if hasattr(solver, "excluded_ids") else set())
    samples = plan_samples(cfg, exclude, task, records)
    recorder = recorder or ResultRecorder(Store(cfg.run_dir or cfg.default_run_dir(
        runs_root, None if task.kind == "mc" else task.kind)))
    store = recorder.store
    store.planned = {s.id for s in samples}
    done = recorder.done()
    todo = any(s.id not in done for s in samples)
    if todo and backend is None and getattr(solver, "needs_model", True):
        chat = cfg.chat_template if cfg.chat_template is not None else getattr(solver, "chat_template", None)
        backend = load_model(cfg.model, chat_template=chat, dtype=cfg.dtype)
    if todo and grader is None and any(getattr(s, "needs_grader", False) for s in scorers):
        same = backend is not None and (not cfg.grader or cfg.grader == cfg.model)
        grader = backend if same else load_model(cfg.grader or cfg.model, dtype=cfg.dtype)
    overlap = len(store.planned & trained_ids(cfg.model))
    if overlap:
        warnings.warn(f"contamination: {overlap} of the {len(samples)} evaluated questions are in the training data "
                      f"of {cfg.model} (its training_ids.json); add --exclude-trained {cfg.model} to evaluate on the "
                      "held-out rest", stacklevel=2)
    identity = recorder.identity or run_identity(cfg, task, solver, scorers)
    described = {**(backend.describe() if backend else {}), "trained_overlap": overlap}
    recorder.start(identity, described)
    root = data_root(cfg.data_dir)
    # the task's data under the root; for a task named by files (healthbench:<file>, file.py:task, questions.jsonl)
    # every part of its name that is a file here (data_digests leaves out the rest)
    data_files = [task.path(root)] if task.relpath else [Path(p) for p in cfg.dataset.split(":") if p]
    store.record_provenance(provenance(identity, {"spec": cfg.model, "dtype": cfg.dtype, "backend": described,
                                                  "grader": cfg.grader,
                                                  "checkpoint": data_digests(checkpoint_paths(cfg.model))}, data_files))

    def one(item: tuple[int, Sample]) -> dict:
        position, sample = item
        t0 = time.perf_counter()
        ctx = SampleContext(store, batcher or backend, sample.id, cfg.seed,
                            grader=(batcher.channel(grader) if batcher and grader is not None else grader))
        out = solver(sample, ctx)
        out = Outcome(completion=out) if isinstance(out, str) else out
        scores = {scorer_name(s): s(sample, out, ctx) for s in scorers}
        return _row(position, sample, out, scores, time.perf_counter() - t0, ctx.tokens)

    def describe(row: dict) -> dict:
        first = next(iter((row["score"] or {}).values()), {})
        return {"qid": row["qid"], "prediction": row["prediction"] if row["prediction"] is not None
                else first.get("value"), "gold": row["gold"]}

    with batched(backend or grader, cfg.concurrency) as (concurrency, batcher):
        run_items(list(enumerate(samples)), lambda item: item[1].id, done, one, recorder.save, progress,
                  concurrency, describe, batcher=batcher)
    return store
