"""`clinqa tasks list`: every task (built in and installed by packages), its kind, splits with record counts checked
against the expected ones, where its data is read from, its source and licence. `clinqa datasets list` is the same."""

from __future__ import annotations

from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

from clinqa.data.errors import DataError

tasks_app = typer.Typer(help="The benchmarks (tasks): MultiMedQA and your own.", no_args_is_help=True)


@tasks_app.command("list")
def tasks_list(data_dir: Optional[str] = typer.Option(None, help="data root (default $CLINQA_DATA or ../shared/data)"),
               count: bool = typer.Option(True, help="load each split and count its records"),
               include: List[str] = typer.Option([], help="also list the tasks defined in this .py file or module")):
    """Show every task, its splits, record counts (checked against the expected ones) and where it is read from."""
    from clinqa.data.registry import data_root
    from clinqa.tasks import all_tasks
    root = data_root(data_dir)
    t = Table(title=f"clinqa tasks (data root: {root})")
    t.add_column("name", no_wrap=True)
    t.add_column("kind")
    t.add_column("split: records (expected)", no_wrap=True)
    t.add_column("data under root")
    t.add_column("source")
    t.add_column("licence", max_width=16)
    try:
        tasks = all_tasks(include)
    except DataError as e:
        Console(stderr=True).print(f"[bold red]error:[/] {e}")
        raise typer.Exit(2)
    for task in tasks:
        parts = []
        for split, expected in task.splits.items():
            if not count:
                parts.append(f"{split}: ({expected or '?'})")
                continue
            try:
                got = len(task.load(split, root))
                n = str(got) if got == expected or not expected else \
                    f"[bold red]{got} — expected {expected}: file changed?[/]"
            except DataError as e:
                n = f"[red]error: {e}[/]"
            parts.append(f"{split}: {n} ({expected or '?'})")
        where = task.relpath + ("" if not task.relpath or task.path(root).exists() else " [red](missing)[/]")
        t.add_row(task.name, task.kind, "\n".join(parts), where or "(shipped / drawn)", task.source, task.license)
    out = Console()
    (out if out.is_terminal else Console(width=200)).print(t)
