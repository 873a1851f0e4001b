"""The live status of a running plan: cells done / running / failed, questions done, tokens and rate. On a terminal a
rich Live table (running, retrying and failed cells, then the totals); in a log or pipe one plain line per change of
a cell's state and a totals line at most every `every_s` seconds. Numbers of running cells are read from their run
directories, so they are the same whether a cell runs here or on a Ray worker."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from clinqa.plan.state import progress


class StatusBoard:
    def __init__(self, root: Path, console: Console, every_s: float = 10.0, poll_s: float = 2.0):
        self.root, self.console, self.every_s, self.poll_s = root, console, every_s, poll_s
        self.runs: dict = {}
        self.seen: dict[str, tuple[str, int]] = {}
        self.started = time.monotonic()
        self.last_line = self.last_poll = 0.0
        self.base_done: int | None = None
        self.live = Live(console=console, refresh_per_second=2, get_renderable=self.render) \
            if console.is_terminal else None

    def __enter__(self):
        if self.live:
            self.live.start()
        return self

    def __exit__(self, *exc):
        if self.live:
            self.live.stop()

    def _poll(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_poll < self.poll_s:
            return
        self.last_poll = now
        for r in self.runs.values():
            if r.status == "running" or (r.status in ("done", "failed") and r.progress is None) or force:
                try:
                    r.progress = progress(r.cell, self.root, r.total)
                except Exception:       # noqa: BLE001 - a store mid-write or not there yet: keep the old numbers
                    pass

    def totals(self) -> dict:
        runs = self.runs.values()
        count = {s: sum(r.status == s for r in runs) for s in ("done", "cached", "running", "failed", "blocked",
                                                                 "pending")}
        questions = sum(r.progress.done for r in runs if r.progress and r.cell.kind in ("mc", "answers"))
        tokens = sum(r.progress.tokens for r in runs if r.progress)
        if self.base_done is None:
            self.base_done = questions
        rate = (questions - self.base_done) / max(time.monotonic() - self.started, 1e-9)
        return dict(count, questions=questions, tokens=tokens, rate=rate)

    def summary(self) -> str:
        t = self.totals()
        return (f"cells: {t['done'] + t['cached']} done ({t['cached']} before this run), {t['running']} running, "
                f"{t['failed']} failed, {t['blocked']} blocked, {t['pending']} waiting | questions {t['questions']} | "
                f"tokens {t['tokens']} | {t['rate']:.2f} questions/s")

    def render(self):
        self._poll()
        table = Table(expand=False, title="clinqa run", title_justify="left")
        for col in ("cell", "state", "done", "tokens", "try", "note"):
            table.add_column(col, justify="right" if col in ("done", "tokens", "try") else "left")
        for r in self.runs.values():
            if r.status in ("running", "failed", "blocked") or (r.status == "pending" and r.attempts):
                p = r.progress
                done = f"{p.done}/{p.total if p.total is not None else '?'}" if p else "-"
                table.add_row(r.cell.id, r.status, done, str(p.tokens if p else 0), str(r.attempts),
                              Text(r.error[:80], style="red") if r.error else "")
        return Group(table, Text(self.summary()))

    def update(self, runs: dict, force: bool = False) -> None:
        self.runs = runs
        if self.live:
            return
        for r in runs.values():
            key = (r.status, r.attempts)
            if self.seen.get(r.cell.id) != key:
                self.seen[r.cell.id] = key
                if r.status == "cached" or (r.status == "pending" and not r.attempts):
                    continue
                self._poll(force=True)
                p = r.progress
                what = f" {p.done}/{p.total if p.total is not None else '?'}" if p and r.status != "running" else ""
                note = f" ({r.error[:160]})" if r.error and r.status in ("pending", "failed", "blocked") else ""
                self.console.print(f"{r.status:8s} {r.cell.id} try {r.attempts}{what}{note}", highlight=False)
        self.tick()

    def tick(self, *_) -> None:
        """A totals line in plain mode, at most every `every_s` seconds (also called from in-process progress)."""
        if self.live or time.monotonic() - self.last_line < self.every_s:
            return
        self.last_line = time.monotonic()
        self._poll()
        self.console.print(self.summary(), highlight=False)
