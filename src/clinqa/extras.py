"""The optional parts of clinqa (pip extras), and the one-line message that names the extra to install
(`pip install 'clinqa[tune]'`) for a missing one instead of a traceback (`clinqa.cli.main` prints it).

The core (`pip install clinqa`) runs benchmarks, reports and analyses on local models and OpenAI-compatible servers;
`tune` (TRL, PEFT, datasets), `rating` (the FastAPI rating app), `hub`, `llamacpp`, `vllm`, `postgres`, `logs` and
`trackers` are extras (pyproject.toml lists them). Commands import their extras lazily, so a missing one surfaces as
a ModuleNotFoundError when the command runs; `main` maps the missing module to its extra.
"""

from __future__ import annotations

import importlib.util

EXTRAS = {
    "tune": ("trl", "peft", "datasets"),
    "rating": ("fastapi", "starlette", "uvicorn", "multipart", "python_multipart", "argon2", "confusable_homoglyphs"),
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
