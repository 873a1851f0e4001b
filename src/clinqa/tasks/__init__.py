"""The task registry: every benchmark as a `Task` (one small file each in this package, found by scanning it: a new
benchmark is one new file with a `TASKS` list), plus the user's own.

A name resolves, in order, to: a built-in task (`clinqa tasks list`); a task a user defined in a Python file or
module (`path/to/my_task.py:my_task`, `my_package.tasks:my_task`); one registered by an installed package under the
`clinqa.tasks` entry-point group; or an ad-hoc task named by its data (`equitymedqa:<subset>`, `hf:<id>`, a question
file). Task objects may also be passed directly to the Python API.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from importlib.metadata import entry_points
from pathlib import Path

import pkgutil

from clinqa.data.errors import DataError
from clinqa.tasks.base import LMEvalFormat, Task

MODULES = [importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__)
           if m.name not in ("base", "cli")]
MODULES = [m for m in MODULES if hasattr(m, "TASKS") or hasattr(m, "resolve")]
REGISTRY: dict[str, Task] = {t.name: t for m in MODULES for t in getattr(m, "TASKS", [])}
RESOLVERS = [m.resolve for m in MODULES if hasattr(m, "resolve")]
ENTRY_POINT_GROUP = "clinqa.tasks"


def _module(target: str):
    """A user's task module: a .py file path or an importable module name."""
    try:
        if target.endswith(".py"):
            path = Path(target)
            if not path.is_file():
                raise DataError(path, "task file not found", field="task")
            spec = importlib.util.spec_from_file_location(f"clinqa_user_task_{path.stem}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
        return importlib.import_module(target)
    except ImportError as e:
        raise DataError(target, f"cannot import the task's module ({e})", field="task") from None


def tasks_in(target: str) -> list[Task]:
    """Every Task defined at the top level of a user's file or module (for `clinqa tasks list --include`)."""
    return [v for v in vars(_module(target)).values() if isinstance(v, Task)]


def _from_python(ref: str) -> Task:
    """`file.py:obj` or `package.module:obj`; obj is a Task or a function returning one."""
    target, _, attr = ref.rpartition(":")
    obj = getattr(_module(target), attr, None)
    obj = obj() if callable(obj) and not isinstance(obj, Task) else obj
    if not isinstance(obj, Task):
        raise DataError(target, f"{attr!r} is not a clinqa Task (or a function returning one)", field="task")
    return obj


def _entry_point_tasks() -> dict[str, object]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def get_task(name: str | Task) -> Task:
    if isinstance(name, Task):
        return name
    if name in REGISTRY:
        return REGISTRY[name]
    if name.rpartition(":")[0].endswith(".py"):
        return _from_python(name)
    for resolve in RESOLVERS:
        task = resolve(name)
        if task is not None:
            return task
    eps = _entry_point_tasks()
    if name in eps:
        task = eps[name].load()
        return task() if callable(task) and not isinstance(task, Task) else task
    if re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", name):
        return _from_python(name)
    raise DataError(name, f"unknown task; built in: {', '.join(REGISTRY)}; or equitymedqa:<subset>, hf:<owner>/<name>, "
                    "a .csv/.jsonl question file, path/to/file.py:task, module:task, or a `clinqa.tasks` entry point",
                    field="task")


def find_task(name: str) -> Task | None:
    """The task `name` resolves to, None where it names none (e.g. a record's dataset that is an ad-hoc file's)."""
    try:
        return get_task(name)
    except DataError:
        return None


def all_tasks(include: list[str] = ()) -> list[Task]:
    """Built-in tasks (multiple choice first), those installed packages register, and those in `include` files."""
    out = sorted(REGISTRY.values(), key=lambda t: (t.kind != "mc", t.name))
    for name, ep in _entry_point_tasks().items():
        try:
            out.append(get_task(name))
        except Exception:   # a broken plugin must not hide the built-in list
            continue
    return out + [t for target in include for t in tasks_in(target)]


def load(name: str, split: str | None = None, root=None) -> list:
    """Records of a task by name (see `clinqa tasks list`), e.g. load("medqa"), load("mmlu_anatomy", "dev")."""
    return get_task(name).load(split, root)


__all__ = ["load", "Task", "LMEvalFormat", "REGISTRY", "get_task", "find_task", "all_tasks", "tasks_in"]
