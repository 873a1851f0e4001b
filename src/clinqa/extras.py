"""The optional parts of clinqa (pip extras), and the `clinqa` console entry point that turns a missing one into a
single line naming the extra to install (`pip install 'clinqa[tune]'`) instead of a traceback.

The core (`pip install clinqa`) runs benchmarks, reports and analyses on local models and OpenAI-compatible servers;
`tune` (TRL, PEFT, datasets), `rating` (the FastAPI rating app), `hub`, `llamacpp`, `vllm`, `postgres`, `logs` and
`trackers` are extras (pyproject.toml lists them). Commands import their extras lazily, so a missing one surfaces as
a ModuleNotFoundError when the command runs; `main` maps the missing module to its extra.
"""

from __future__ import annotations

import importlib.util
import sys

EXTRAS = {
    "tune": ("trl", "peft", "datasets"),
    "rating": ("fastapi", "starlette", "uvicorn", "multipart", "python_multipart", "argon2"),
    "hub": ("datasets",),
    "llamacpp": ("llama_cpp",),
    "vllm": ("vllm",),
    "postgres": ("psycopg",),
    "logs": ("inspect_ai",),
    "trackers": ("mlflow", "wandb", "tensorboard"),
    "ray": ("ray",),
}
# the extra to name for a missing module (datasets alone, outside `clinqa tune`, is the hub extra)
EXTRA_OF = {m: extra for extra, mods in EXTRAS.items() for m in mods}


class MissingExtra(ModuleNotFoundError):
    """A command needs an extra that is not installed; the message is the one line to show."""


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require(extra: str, what: str) -> None:
    """Raise MissingExtra naming `extra` when any of its modules is missing (before `what` does any work)."""
    missing = [m for m in EXTRAS[extra] if not _installed(m)]
    if missing:
        raise MissingExtra(f"{what} needs {', '.join(missing)} (not installed): pip install 'clinqa[{extra}]'",
                           name=missing[0])


def message(exc: ModuleNotFoundError, argv: list[str]) -> str | None:
    """The one-line error for a missing optional module, or None when the module is not one of the extras'."""
    if isinstance(exc, MissingExtra):
        return str(exc)
    root = (exc.name or "").split(".")[0]
    extra = EXTRA_OF.get(root)
    if extra is None:
        return None
    words = []
    for a in argv:
        if a.startswith("-") or len(words) == 2:
            break
        words.append(a)
    command = " ".join(["clinqa", *words])
    return f"{command} needs {root} (not installed): pip install 'clinqa[{extra}]'"


def main(argv: list[str] | None = None) -> None:
    """The `clinqa` command: the Typer app, with a missing extra reported in one line (exit status 2)."""
    from clinqa.cli import app
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        app(argv, prog_name="clinqa")
    except ModuleNotFoundError as e:
        line = message(e, argv)
        if line is None:
            raise
        print(f"error: {line}", file=sys.stderr)
        sys.exit(2)
