"""`clinqa run plan.yaml`: the command over `clinqa.plan.run`. The plan's modules (its report draws the paper's
figures) load when the command runs, so `clinqa` itself starts without them."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from clinqa.cli.common import console, err
from clinqa.cli.common import fail as _fail
from clinqa.data.errors import DataError


def print_dry_run(st) -> None:
    from clinqa.plan.estimate import dry_run_rows, human, remaining
    from clinqa.plan.run import dry_run
    estimates = dry_run(st)
    t = Table(title=f"plan {st.plan.name}: {len(st.cells)} cells under {st.root}", title_justify="left")
    for col in ("cell", "items", "generations", "prompt tok (est.)", "completion tok (≤)", "state"):
        t.add_column(col, justify="left" if col in ("cell", "state") else "right")
    for row in dry_run_rows(estimates):
        t.add_row(*row)
    console.print(t)
    for which, share in (("whole plan", lambda e: 1.0), ("still to run", remaining)):
        gens = sum(e.generations * share(e) for e in estimates)
        prompt = sum(e.prompt_tokens * share(e) for e in estimates)
        completion = sum(e.completion_tokens * share(e) for e in estimates)
        console.print(f"{which}: {int(gens):,} generations, {human(int(prompt))} prompt tokens (est.), "
                      f"≤ {human(int(completion))} completion tokens")
    for note in st.notes + [f"{c}: {e}" for c, e in st.errors.items()]:
        console.print(f"note: {note}", highlight=False)
    console.print(f"run directories: {st.root}/mc/<task>-<split>-<strategy>-<model>-<hash> (as `clinqa bench "
                  f"--runs-root {st.root}/mc` names them), {st.root}/longform/<set>, {st.root}/study", highlight=False)
    console.print("tokens: characters / 4 of the prompts each strategy builds for 3 questions per cell (a request for "
                  "n samples counts its prompt once), completions at their full budget (an upper bound)")


def run_cmd(plan: Path = typer.Argument(..., help="plan file (YAML), e.g. plans/medpalm2.yaml"),
            dry_run_: bool = typer.Option(False, "--dry-run", help="list the cells, their generations and token "
                                          "estimate, and which are done; run nothing"),
            ray: Optional[str] = typer.Option(None, "--ray", help="run cells as Ray tasks on the cluster at ADDRESS "
                                              "('auto': the one this machine belongs to; 'local': start one here); "
                                              "needs the ray extra"),
            root: Optional[Path] = typer.Option(None, help="run root (default: the plan's `root`); on Ray, a folder "
                                                "every node sees"),
            only: Optional[str] = typer.Option(None, help="only the cells whose id matches this glob, e.g. 'mc/medqa/*'"),
            limit: Optional[int] = typer.Option(None, min=1, help="the first N questions of every task and set "
                                                "(replaces the plan's limits); a larger N later extends the same runs"),
            tries: Optional[int] = typer.Option(None, min=1, help="tries per cell (default: the plan's retries.tries)"),
            report_only: bool = typer.Option(False, "--report-only", help="write the report from the run root as it "
                                             "is; run nothing"),
            resamples: int = typer.Option(2000, help="bootstrap resamples of the rating analysis in the report")):
    """Run a whole evaluation plan: every cell an ordinary run directory under one root; finished cells are skipped,
    failing cells retried with backoff and reported without stopping the rest; then the paper's report (HTML + CSV)."""
    from clinqa.plan.run import execute, report, survey
    from clinqa.plan.status import StatusBoard
    try:
        st = survey(plan, root, only, limit)
    except DataError as e:
        _fail(str(e))
    if dry_run_:
        print_dry_run(st)
        return
    failed = []
    if not report_only:
        with StatusBoard(st.root, err) as board:
            try:
                runs = execute(st, ray, board, tries=tries)
            except KeyboardInterrupt:
                board.__exit__()
                err.print("[bold red]error:[/] interrupted; every finished question is saved in its cell's run "
                          "directory. Run the same command again to go on.")
                sys.stderr.flush()
                os._exit(130)     # a cell's worker threads may be inside the model: end without finalising them
            except ImportError as e:
                _fail(str(e))
            board.update(runs)
        console.print(board.summary(), highlight=False)
        failed = [r for r in runs.values() if r.status in ("failed", "blocked")]
        for r in failed:
            console.print(f"[red]{r.status}[/] {r.cell.id} after {r.attempts} tries: {r.error}", highlight=False)
    path = report(st, resamples)
    console.print(f"report: {path}  (every number: {path.parent / 'numbers.csv'})", highlight=False)
    if failed:
        raise typer.Exit(1)
