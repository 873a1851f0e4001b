"""What every command module shares: the consoles (results on stdout, errors and progress on stderr, tables whole
when piped) and the two ways a command ends early (a one-line error, or Ctrl-C with what was saved)."""

from __future__ import annotations

import os
import sys
import threading

import typer
from rich.console import Console

from clinqa.cli.terminal import stdout_console

console = stdout_console()                    # logs and pipes get whole tables and unwrapped lines
err = Console(stderr=True, soft_wrap=True)


def fail(msg: str, code: int = 2):
    """A one-line error (exit status 2)."""
    err.print(f"[bold red]error:[/] {msg}")
    raise typer.Exit(code)


def interrupted(msg: str):
    """Ctrl-C: say what is saved and exit 130 at once. Questions still in flight in worker threads may be inside the
    model; letting the interpreter finalise under them can abort the process, so then it ends without finalising
    (every finished result is already committed to the store)."""
    err.print(f"[bold red]error:[/] {msg}")
    if threading.active_count() > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    raise typer.Exit(130)
