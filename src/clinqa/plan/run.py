"""A plan from file to finished run root: load and validate it, expand it into cells, read what every cell's run
directory already holds, then estimate (dry run) or run what is missing (here or on Ray) and write the report.
The Python API of `clinqa run`."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from clinqa.extras import require
from clinqa.plan.estimate import CellEstimate, estimate
from clinqa.plan.execute import CellRun, Executor, InProcessPool
from clinqa.plan.expand import Cell, expand, plan_root
from clinqa.plan.load import load_plan
from clinqa.plan.report import write_plan_report
from clinqa.plan.schema import Plan
from clinqa.plan.state import CellProgress, planned, progress, run_cell


@dataclass
class PlanState:
    plan: Plan
    root: Path
    cells: list[Cell]
    notes: list[str]
    totals: dict[str, int | None] = field(default_factory=dict)
    progress: dict[str, CellProgress] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)     # cells that cannot even be planned (missing data ...)
    base: Path = Path(".")                                    # the plan file's folder

    @property
    def done(self) -> set[str]:
        """Cells whose run directory holds everything and whose dependencies are done too (graders of a set whose
        answers are being extended grade the new answers)."""
        done: set[str] = set()
        for c in self.cells:          # dependencies come first
            p = self.progress.get(c.id)
            if p and p.finished and all(d in done for d in c.deps):
                done.add(c.id)
        return done


def survey(path: str | Path, root: str | Path | None = None, only: str | None = None,
           limit: int | None = None) -> PlanState:
    """The plan, its cells (those matching the glob `only`, with what they wait for) and what each already holds.
    `limit` replaces every multiple-choice and long-form limit (the first N questions; a larger N later extends the
    same run directories)."""
    path = Path(path)
    plan = load_plan(path)
    if limit is not None:
        if plan.multiple_choice:
            plan.multiple_choice.limit = limit
        for s in plan.longform.sets if plan.longform else []:
            s.limit = limit
    root = plan_root(plan, root)
    cells, notes = expand(plan, root, path.parent)
    if only:
        keep = {c.id for c in cells if fnmatch.fnmatch(c.id, only)}
        cells = [c for c in cells if c.id in keep]
        for c in cells:
            c.deps = [d for d in c.deps if d in keep]
    st = PlanState(plan, root, cells, notes, base=path.parent)
    refresh(st)
    return st


def refresh(st: PlanState) -> None:
    for c in st.cells:
        try:
            if c.id not in st.totals:
                st.totals[c.id] = planned(c)
            st.progress[c.id] = progress(c, st.root, st.totals[c.id])
        except Exception as e:     # noqa: BLE001 - reported per cell; the rest of the plan still runs
            st.errors[c.id] = f"{type(e).__name__}: {e}"


def dry_run(st: PlanState) -> list[CellEstimate]:
    return estimate(st.cells, st.progress)


def execute(st: PlanState, ray_address: str | None = None, board=None, runner: Callable = run_cell,
            tries: int | None = None, backoff_s: float | None = None) -> dict[str, CellRun]:
    """Run every cell not finished yet; returns each cell's outcome (failed cells after their last try)."""
    st.root.mkdir(parents=True, exist_ok=True)
    tick = board.tick if board else None
    if ray_address:
        require("ray", "clinqa run --ray")
        from clinqa.plan.ray_pool import RayPool, connect    # the optional `ray` extra
        connect(None if ray_address == "local" else ray_address)
        pool = RayPool(st.root, runner, st.plan.cell_timeout_s)
    else:
        pool = InProcessPool(st.root, runner, on_progress=tick)
    ex = Executor(st.cells, pool, tries or st.plan.retries.tries,
                  st.plan.retries.backoff_s if backoff_s is None else backoff_s, board, st.done,
                  {c: t for c, t in st.totals.items()})
    for cell_id, error in st.errors.items():
        ex.runs[cell_id].status, ex.runs[cell_id].error = "failed", error
    runs = ex.run()
    refresh(st)
    return runs


def report(st: PlanState, n_boot: int = 2000) -> Path:
    human = st.base / st.plan.study.human_ratings if st.plan.study and st.plan.study.human_ratings else None
    return write_plan_report(st.plan.name, st.cells, st.root, st.progress, st.notes, human, n_boot)
