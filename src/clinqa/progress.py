"""Progress of long commands (`clinqa bench`, `clinqa answer`): the plan printed before a benchmark starts (questions,
model calls from the strategy's budget, a rough time from earlier runs of the same model and strategy), then a rich
bar on a terminal, or a plain line every `interval` seconds when output goes to a log or a pipe. The bar starts with
the first progress report, so an error raised while starting up is not preceded by an empty bar."""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from clinqa.data.errors import DataError
from clinqa.eval import EvalConfig
from clinqa.eval.store import DB_NAME
from clinqa.strategies import make_strategy
from clinqa.tasks import get_task


def duration(seconds: float) -> str:
    """'45s', '12 min', '3.5 h'."""
    if seconds < 90:
        return f"{seconds:.0f}s"
    return f"{seconds / 60:.0f} min" if seconds < 90 * 60 else f"{seconds / 3600:.1f} h"


@dataclass
class BenchPlan:
    questions: int                  # at most this many (exemplars and trained-on questions are left out later)
    done: int                       # already finished in the run directory (a resumed run skips them)
    calls_per_question: int         # the strategy's budget at full size (adaptive stopping may use fewer)
    kind: str                       # "generations" or "scored options"
    seconds_per_question: float | None
    basis: str                      # where the time estimate comes from

    def line(self) -> str:
        todo = max(self.questions - self.done, 0)
        calls = todo * self.calls_per_question
        head = f"plan: {todo} question{'s' if todo != 1 else ''}" + (
            f" ({self.done} of {self.questions} already done)" if self.done else "")
        kind = self.kind if self.calls_per_question != 1 else self.kind.removesuffix("s")
        head += f" x {self.calls_per_question} {kind} = {calls} model calls"
        if self.seconds_per_question is None:
            return f"{head}; time: {self.basis}"
        return f"{head}; roughly {duration(todo * self.seconds_per_question)} ({self.basis})"


def _query(db: Path, sql: str) -> tuple | None:
    """One row from a run's SQLite file, read-only (a run being written, or another tool's file, gives None)."""
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)) as c:
            return c.execute(sql).fetchone()
    except sqlite3.Error:
        return None


def _history(cfg: EvalConfig, runs_root: Path, newest: int = 200) -> tuple[float, int] | None:
    """Mean seconds per question and question count of earlier runs (the `newest` run directories under `runs_root`)
    with the same task, model and strategy budget. Read-only: a run being written or a foreign file is skipped."""
    same = ("model", "strategy", "n_samples", "n_refine", "max_tokens", "dataset")
    dbs = sorted(Path(runs_root).glob(f"*/{DB_NAME}"), key=lambda p: p.stat().st_mtime, reverse=True)[:newest]
    seconds = n = 0
    for db in dbs:
        row = _query(db, "select config from runs")
        try:
            config = json.loads(row[0]) if row else None
        except (TypeError, ValueError):
            config = None
        if not isinstance(config, dict) or any(config.get(k) != getattr(cfg, k) for k in same if k in config):
            continue
        s, k = _query(db, "select coalesce(sum(seconds), 0), count(*) from results") or (0, 0)
        seconds, n = seconds + s, n + k
    return (seconds / n, n) if n else None


def bench_plan(cfg: EvalConfig, runs_root: Path = Path("runs")) -> BenchPlan:
    """What `run_eval(config=cfg)` will do, from the task's data and the strategy's budget; DataError for bad data."""
    questions = get_task(cfg.dataset).load(cfg.split, cfg.data_dir)
    if not questions:
        raise DataError(cfg.dataset, "no questions", field="task")
    strategy = make_strategy(cfg.strategy, cfg.strategy_config())
    n = min(cfg.limit or len(questions), len(questions))
    kind = "scored options" if strategy.needs_loglikelihood else "generations"
    calls = strategy.calls_per_question(len(questions[0].options))
    run_db = Path(cfg.run_dir or cfg.default_run_dir(runs_root)) / DB_NAME
    done = min((_query(run_db, "select count(*) from results") or (0,))[0], n) if run_db.is_file() else 0
    past = _history(cfg, runs_root)
    if past:
        return BenchPlan(n, done, calls, kind, past[0], f"from {past[1]} questions of earlier runs of this model and "
                                                  f"strategy under {runs_root}")
    return BenchPlan(n, done, calls, kind, None, "no earlier run of this model and strategy to go by; an estimate follows "
                                          "the first questions")


class RunProgress:
    """A progress callback `(done, total, info)` for `run_eval` / `run_answers`: a rich bar on a terminal, else a
    line at the first result, then every `interval` seconds, and at the end. Use as a context manager."""

    def __init__(self, console: Console, description: str, interval: float = 30.0,
                 clock: Callable[[], float] = time.monotonic, describe: Callable[[dict], str] | None = None):
        self.console, self.description, self.interval, self.clock = console, description, interval, clock
        self.describe = describe or (lambda info: "")
        self.bar: Progress | None = None
        self.started = clock()
        self.first_done: int | None = None      # results already there when this invocation started
        self.last_line: float | None = None

    def __enter__(self) -> "RunProgress":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()

    def eta(self, done: int, total: int) -> float | None:
        new = done - (self.first_done or 0)
        return (self.clock() - self.started) / new * (total - done) if new > 0 else None

    def __call__(self, done: int, total: int, info: dict | None = None) -> None:
        if self.first_done is None:
            self.first_done, self.started = done, self.clock()
        last = self.describe(info) if info else ""
        if self.console.is_terminal:
            if self.bar is None:
                self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                    TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                    TextColumn("{task.fields[last]}"), console=self.console)
                self.task = self.bar.add_task(self.description, total=None, last="")
                self.bar.start()
            self.bar.update(self.task, completed=done, total=total, last=last)
            return
        now = self.clock()
        if info and (self.last_line is None or now - self.last_line >= self.interval or done >= total):
            self.last_line = now
            eta = self.eta(done, total)
            self.console.print(f"{self.description} [{done}/{total}] elapsed {duration(now - self.started)}"
                               + (f", eta {duration(eta)}" if eta is not None else "") + (f"  last {last}" if last else ""),
                               markup=False, highlight=False, soft_wrap=True)
