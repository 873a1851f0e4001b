"""`clinqa export ...`: write a run of any task kind in the log formats other tools read (inspect_ai, lm-evaluation-harness)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from clinqa.cli.common import console, fail
from clinqa.data.errors import DataError

export_app = typer.Typer(help="Export a run of any task kind for other tools (inspect view, lm-eval readers).",
                         no_args_is_help=True)
def _missing(pkg: str, extra: str):
    fail(f"this export needs {pkg}: pip install 'clinqa[{extra}]'")


@export_app.command("inspect")
def export_inspect_cmd(run: Path = typer.Argument(..., help="run directory (`clinqa bench`, any task kind)"),
                       out: Optional[Path] = typer.Option(None, help="folder or .eval/.json file (default: <run>/inspect)")):
    """Write the run as an inspect_ai eval log (open it with `inspect view --log-dir <folder>`)."""
    try:
        from clinqa.logs.inspect_log import export_inspect
        path = export_inspect(run, out)
    except ModuleNotFoundError as e:
        _missing(e.name or "inspect_ai", "logs")
    except (DataError, FileNotFoundError, ValueError) as e:
        fail(str(e))
    console.print(f"wrote {path}\nview it: inspect view --log-dir {path.parent}")


@export_app.command("lm-eval")
def export_lmeval_cmd(run: Path = typer.Argument(..., help="run directory (`clinqa bench`, any task kind)"),
                      out: Optional[Path] = typer.Option(None, help="output folder (default: <run>/lm-eval)")):
    """Write the run as lm-evaluation-harness results_<date>.json + samples_<task>_<date>.jsonl."""
    from clinqa.logs.lmeval_log import export_lmeval
    try:
        res, smp = export_lmeval(run, out)
    except (DataError, FileNotFoundError, ValueError) as e:
        fail(str(e))
    console.print(f"wrote {res}\nwrote {smp}")
