"""What a cell's run directory already holds, read from the directory itself (so a cell finished by hand with
`clinqa bench` / `clinqa answer` counts as done), and the one entry point that runs a cell of any kind."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from clinqa.plan import cells as api
from clinqa.plan.expand import Cell

RUNNERS = {"mc": api.run_mc, "answers": api.run_longform, "import": api.run_import, "grade": api.run_grade,
           "study": api.run_study}


def run_cell(cell: dict, root: str, progress=None) -> str:
    """Run one cell (a dict, as it travels to Ray workers) into its directory under `root`; returns its id."""
    RUNNERS[cell["kind"]](cell["params"], Path(root) / cell["run_dir"], progress)
    return cell["id"]


@dataclass
class CellProgress:
    done: int                 # questions answered / answers / ratings made
    total: int | None         # what the cell plans (None: known only once it runs)
    tokens: int
    finished: bool


def planned(cell: Cell) -> int | None:
    """What a cell plans, computed from the task and its options (no model is loaded)."""
    if cell.kind == "mc":
        return api.mc_planned(cell.params)
    if cell.kind == "answers":
        return len(api.answers_planned(cell.params))
    return 1 if cell.kind == "study" else None


def progress(cell: Cell, root: Path, total: int | None) -> CellProgress:
    run_dir = root / cell.run_dir
    if cell.kind == "mc":
        done, tokens = api.mc_progress(run_dir)
        return CellProgress(done, total, tokens, total is not None and done >= total)
    if cell.kind in ("answers", "import"):
        done, tokens = api.answers_progress(run_dir, cell.params["source"])
        return CellProgress(done, total if cell.kind == "answers" else done or None, tokens,
                            done >= total if cell.kind == "answers" else done > 0)
    if cell.kind == "grade":
        made, want, finished = api.grade_progress(run_dir, cell.params)
        return CellProgress(made, want or None, 0, finished)
    exists = api.study_exists(cell.params)
    return CellProgress(int(exists), 1, 0, exists)
