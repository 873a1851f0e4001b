"""Running a plan's cells: each cell whose dependencies finished is handed to a pool (this process, or Ray); a cell
that fails (a backend error, a timeout, a worker that died) is tried again after `backoff_s * 2**(try-1)` seconds,
and after its last try it is reported as failed while the others go on (cells waiting for it are reported as
blocked). Cells whose run directory already holds everything are not run at all."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

from clinqa.plan.expand import Cell
from clinqa.plan.state import CellProgress, run_cell

TERMINAL = ("done", "failed", "blocked", "cached")


@dataclass
class CellRun:
    cell: Cell
    status: str = "pending"          # pending | running | done | failed | blocked | cached (done before this run)
    attempts: int = 0
    not_before: float = 0.0
    started: float = 0.0
    error: str = ""
    total: int | None = None
    progress: CellProgress | None = None
    errors: list[str] = field(default_factory=list)


class Pool(Protocol):
    def free(self) -> int: ...                                   # cells it can start now
    def start(self, run: CellRun) -> None: ...
    def finished(self, timeout: float) -> list[tuple[str, str | None]]: ...   # (cell id, error or None)
    def close(self) -> None: ...


class InProcessPool:
    """Cells one after another in this process (each cell batches its own questions)."""

    def __init__(self, root: Path, runner: Callable = run_cell, on_progress: Callable | None = None):
        self.root, self.runner, self.on_progress = root, runner, on_progress
        self.results: list[tuple[str, str | None]] = []

    def free(self) -> int:
        return 1

    def start(self, run: CellRun) -> None:
        cell = run.cell
        tick = (lambda d, t: self.on_progress(cell.id, d, t)) if self.on_progress else None
        try:
            self.runner(cell.to_dict(), str(self.root), tick)
            self.results.append((cell.id, None))
        except Exception as e:       # noqa: BLE001 - any failure of one cell is retried, then reported
            self.results.append((cell.id, f"{type(e).__name__}: {e}"))
            run.errors.append(traceback.format_exc(limit=6))

    def finished(self, timeout: float) -> list[tuple[str, str | None]]:
        out, self.results = self.results, []
        return out

    def close(self) -> None:
        pass


class Executor:
    def __init__(self, cells: list[Cell], pool: Pool, tries: int = 3, backoff_s: float = 5.0,
                 board=None, done_before: set[str] = frozenset(), totals: dict | None = None):
        self.runs = {c.id: CellRun(c, "cached" if c.id in done_before else "pending",
                                   total=(totals or {}).get(c.id)) for c in cells}
        self.pool, self.tries, self.backoff_s, self.board = pool, tries, backoff_s, board

    def _ready(self, now: float) -> list[CellRun]:
        out = []
        for r in self.runs.values():
            if r.status != "pending":
                continue
            deps = [self.runs[d] for d in r.cell.deps if d in self.runs]
            if any(d.status in ("failed", "blocked") for d in deps):
                r.status, r.error = "blocked", "waits for a failed cell: " + ", ".join(
                    d.cell.id for d in deps if d.status in ("failed", "blocked"))
            elif all(d.status in ("done", "cached") for d in deps) and r.not_before <= now:
                out.append(r)
        return out

    def _settle(self, cell_id: str, error: str | None) -> None:
        r = self.runs[cell_id]
        if error is None:
            r.status, r.error = "done", ""
            return
        r.error = error
        if r.attempts < self.tries:
            r.status, r.not_before = "pending", time.monotonic() + self.backoff_s * 2 ** (r.attempts - 1)
        else:
            r.status = "failed"

    def run(self) -> dict[str, CellRun]:
        try:
            while any(r.status not in TERMINAL for r in self.runs.values()):
                now = time.monotonic()
                for r in self._ready(now)[:self.pool.free()]:
                    r.status, r.started = "running", time.monotonic()
                    r.attempts += 1
                    if self.board:
                        self.board.update(self.runs)
                    self.pool.start(r)
                for cell_id, error in self.pool.finished(timeout=0.5):
                    self._settle(cell_id, error)
                if self.board:
                    self.board.update(self.runs)
                if not any(r.status == "running" for r in self.runs.values()) and not self._ready(time.monotonic()):
                    waits = [r.not_before for r in self.runs.values() if r.status == "pending"]
                    if waits:
                        time.sleep(max(0.0, min(min(waits) - time.monotonic(), 1.0)))
        finally:
            self.pool.close()
        return self.runs
