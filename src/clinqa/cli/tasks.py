"""`clinqa tasks list`: every task (built in and installed by packages), its kind, splits with record counts checked
against the expected ones, where its data is read from, its source and licence. `clinqa datasets list` is the same.
A table at its natural width (piped: never squeezed or wrapped); on a terminal too narrow for it, one block of lines
per task instead of a squeezed table; `--json` one JSON object per task for scripts."""

from __future__ import annotations

import json
from typing import List, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from clinqa.data.errors import DataError
from clinqa.data.registry import data_root
from clinqa.cli.terminal import PIPE_WIDTH, stdout_console

tasks_app = typer.Typer(help="The benchmarks (tasks): MultiMedQA and your own.", no_args_is_help=True)


def task_rows(tasks, root, count: bool) -> list[dict]:
    """One dict per task: name, kind, splits {split: {records, expected, error}}, data path (or None), source,
    license, missing (its data path does not exist)."""
    out = []
    for task in tasks:
        splits = {}
        for split, expected in task.splits.items():
            entry = {"records": None, "expected": expected or None, "error": None}
            if count:
                try:
                    entry["records"] = len(task.load(split, root))
                except DataError as e:
                    entry["error"] = str(e)
            splits[split] = entry
        out.append({"name": task.name, "kind": task.kind, "splits": splits, "data": task.relpath or None,
                    "missing": bool(task.relpath) and not task.path(root).exists(), "source": task.source,
                    "license": task.license})
    return out


def _split_cell(split: str, e: dict) -> str:
    expected = e["expected"] or "?"
    if e["error"]:
        return f"{split}: [red]error: {escape(e['error'])}[/] ({expected})"
    if e["records"] is None:
        return f"{split}: ({expected})"
    if e["expected"] and e["records"] != e["expected"]:
        return f"{split}: [bold red]{e['records']} — expected {expected}: file changed?[/] ({expected})"
    return f"{split}: {e['records']} ({expected})"


@tasks_app.command("list")
def tasks_list(data_dir: Optional[str] = typer.Option(None, help="data root (default $CLINQA_DATA or ../shared/data)"),
               count: bool = typer.Option(True, help="load each split and count its records"),
               include: List[str] = typer.Option([], help="also list the tasks defined in this .py file or module"),
               as_json: bool = typer.Option(False, "--json", help="one JSON object per line per task, for scripts")):
    """Show every task, its splits, record counts (checked against the expected ones) and where it is read from."""
    from clinqa.tasks import all_tasks
    root = data_root(data_dir)
    try:
        rows = task_rows(all_tasks(include), root, count)
    except DataError as e:
        Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {escape(str(e))}")
        raise typer.Exit(2)
    out = stdout_console()
    if as_json:
        for r in rows:
            out.print(json.dumps(r), markup=False, highlight=False, soft_wrap=True)
        return
    t = Table(title=f"clinqa tasks (data root: {escape(str(root))})")
    t.add_column("name", no_wrap=True)
    t.add_column("kind", no_wrap=True)
    t.add_column("split: records (expected)", no_wrap=True)
    t.add_column("data under root", no_wrap=True)
    t.add_column("source")
    t.add_column("licence", max_width=16)
    for r in rows:
        where = escape(r["data"] or "(shipped / drawn)") + (" [red](missing)[/]" if r["missing"] else "")
        t.add_row(r["name"], r["kind"], "\n".join(_split_cell(s, e) for s, e in r["splits"].items()), where,
                  escape(r["source"] or ""), escape(r["license"] or ""))
    if Console(width=PIPE_WIDTH).measure(t).maximum <= out.width:
        out.print(t)
        return
    out.print(t.title, style="italic")       # a narrow terminal: lines that wrap by themselves, paths whole
    for r in rows:
        where = escape(r["data"] or "(shipped / drawn)") + (" [red](missing)[/]" if r["missing"] else "")
        out.print(f"[bold]{r['name']}[/] ({r['kind']})  " + "; ".join(_split_cell(s, e) for s, e in r["splits"].items()),
                  soft_wrap=True)
        out.print(f"    data: {where}", soft_wrap=True)
        out.print(f"    source: {escape(r['source'] or '')}; licence: {escape(r['license'] or '')}", soft_wrap=True)
