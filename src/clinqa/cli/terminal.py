"""Consoles for the command line that keep output whole: on a terminal, rich at the window's width; when output goes
to a pipe or a log, wide enough that no table is squeezed and no line (a path, an interval) is hard-wrapped."""

from __future__ import annotations

from rich.console import Console
from typer.core import TyperOption

PIPE_WIDTH = 1000      # wider than any table: tables take their natural width, lines are never cut


def stdout_console() -> Console:
    """A console for results: the terminal's, or a wide one for pipes and logs."""
    console = Console()
    return console if console.is_terminal else Console(width=PIPE_WIDTH)


def hide_flag_types() -> None:
    """Typer 0.29's help shows a value type for flags (`--help <bool>`, `--adaptive/--no-adaptive <bool>`), which take
    no value; show none for them (other options keep theirs). Called once by the `clinqa` app."""
    shown = TyperOption.display_type_rich
    if getattr(shown, "clinqa_hides_flags", False):
        return

    def display_type_rich(self, ctx):
        return None if self.is_flag else shown(self, ctx)
    display_type_rich.clinqa_hides_flags = True
    TyperOption.display_type_rich = display_type_rich
