"""Read a plan file: YAML parsed with PyYAML's node marks so that every error (schema or meaning) names the file and
the line, e.g. `plans/x.yaml:14: field 'strategies[1].name': unknown strategy 'cott'; known: ...`."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from clinqa.data.errors import DataError
from clinqa.plan.schema import Plan
from clinqa.strategies import STRATEGIES
from clinqa.tasks import get_task

Loc = tuple


def line_map(node, path: Loc = (), out: dict | None = None) -> dict[Loc, int]:
    """{path of keys and indexes: 1-based line} for every mapping key and sequence item of a composed YAML node."""
    out = {} if out is None else out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            out[path + (key.value,)] = key.start_mark.line + 1
            line_map(value, path + (key.value,), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            line_map(item, path + (i,), out)
    return out


def dotted(loc: Loc) -> str:
    s = ""
    for part in loc:
        s += f"[{part}]" if isinstance(part, int) else (f".{part}" if s else str(part))
    return s


class PlanErrors:
    """Builds DataErrors that point at the line of a location in the plan file."""

    def __init__(self, path: Path, lines: dict[Loc, int]):
        self.path, self.lines = path, lines

    def error(self, loc: Loc, problem: str) -> DataError:
        loc = tuple(loc)
        line = next((self.lines[loc[:n]] for n in range(len(loc), -1, -1) if loc[:n] in self.lines), None)
        return DataError(self.path, problem, line=line, field=dotted(loc) or None)


def load_plan(path: str | Path) -> Plan:
    """The validated plan, or DataError naming the file, line and field."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "plan file not found")
    text = path.read_text()
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise DataError(path, f"not valid YAML ({getattr(e, 'problem', e)})",
                        line=mark.line + 1 if mark else None) from None
    if not isinstance(data, dict):
        raise DataError(path, "expected a mapping (name, models, multiple_choice, longform, graders, study)", line=1)
    errors = PlanErrors(path, line_map(node))
    try:
        plan = Plan.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        raise errors.error(first["loc"], first["msg"].removeprefix("Value error, ")) from None
    check_meaning(plan, errors, path.parent)
    return plan


def _task_kind(name: str) -> str | None:
    """"mc", "longform" (any task answered in prose: `Task.long_form`), another kind, or None for no such task."""
    try:
        task = get_task(name)
    except (DataError, ValueError, KeyError):
        return None
    return "longform" if task.long_form else task.kind


def check_meaning(plan: Plan, errors: PlanErrors, base: Path) -> None:
    """What the schema cannot see: references between sections, known tasks and strategies, files that exist."""
    models = [m.name for m in plan.models]
    for i, m in enumerate(plan.models):
        if models.count(m.name) > 1:
            raise errors.error(("models", i, "name"), f"model name {m.name!r} is used twice")

    def known_model(loc, name):
        if name not in models:
            raise errors.error(loc, f"unknown model {name!r}; the plan's models: {', '.join(models)}")
    mc = plan.multiple_choice
    if mc:
        for i, t in enumerate(mc.tasks):
            kind = _task_kind(t)
            if kind != "mc":
                raise errors.error(("multiple_choice", "tasks", i), f"{t!r} is not a multiple-choice task"
                                   + ("" if kind else " (unknown task; see `clinqa tasks list`)"))
        for i, name in enumerate(mc.models or []):
            known_model(("multiple_choice", "models", i), name)
        for i, s in enumerate(mc.strategies):
            if s.name not in STRATEGIES:
                raise errors.error(("multiple_choice", "strategies", i, "name"),
                                   f"unknown strategy {s.name!r}; known: {', '.join(STRATEGIES)}")
            for j, t in enumerate(s.tasks or []):
                if t not in mc.tasks:
                    raise errors.error(("multiple_choice", "strategies", i, "tasks", j),
                                       f"{t!r} is not among multiple_choice.tasks")
    lf = plan.longform
    set_keys: list[str] = []
    source_names: set[str] = set()
    if lf:
        for where, sources in [(("longform", "sources"), lf.sources)] + [
                (("longform", "sets", i, "sources"), s.sources or []) for i, s in enumerate(lf.sets)]:
            for j, src in enumerate(sources):
                if src.import_ is not None and where == ("longform", "sources"):
                    raise errors.error(where + (j, "import"), "an imported answers file belongs to one set: list it "
                                       "under that set's `sources` (with the section's model sources)")
                if src.model is not None:
                    known_model(where + (j, "model"), src.model)
                elif not src.optional and not (base / src.import_).is_file():
                    raise errors.error(where + (j, "import"), f"answers file {src.import_!r} not found "
                                       f"(relative to {base})")
                source_names.add(src.name)
        for i, s in enumerate(lf.sets):
            kind = _task_kind(s.task)
            if kind != "longform" and not (s.optional and kind is None):
                raise errors.error(("longform", "sets", i, "task"), f"{s.task!r} is not a long-form task"
                                   + ("" if kind else " (unknown task; mark the set `optional: true` to skip it)"))
            if s.key in set_keys:
                raise errors.error(("longform", "sets", i), f"set {s.key!r} appears twice (give one a `name`)")
            set_keys.append(s.key)
            if not (s.sources or lf.sources):
                raise errors.error(("longform", "sets", i), "no answer sources (set `sources` here or in longform)")
    for i, g in enumerate(plan.graders):
        if not lf:
            raise errors.error(("graders", i), "graders need a longform section to rate")
        for j, name in enumerate(g.models):
            known_model(("graders", i, "models", j), name)
        for j, name in enumerate(g.sources or []):
            if name not in source_names:
                raise errors.error(("graders", i, "sources", j), f"unknown answer source {name!r}; the plan's: "
                                   f"{', '.join(sorted(source_names))}")
        if "pairwise" in g.kinds and len(g.sources or []) != 2:
            raise errors.error(("graders", i, "kinds"), "pairwise grading needs exactly two `sources`")
        for j, name in enumerate(g.sets or []):
            if name not in set_keys:
                raise errors.error(("graders", i, "sets", j), f"unknown long-form set {name!r}")
    st = plan.study
    if st:
        for j, name in enumerate(st.sources):
            if name not in source_names:
                raise errors.error(("study", "sources", j), f"unknown answer source {name!r}")
        for j, name in enumerate(st.sets or []):
            if name not in set_keys:
                raise errors.error(("study", "sets", j), f"unknown long-form set {name!r}")
        for key in (st.sets or set_keys) if st.select_budget else []:
            if not any("physician" in g.kinds and key in (g.sets or set_keys) for g in plan.graders):
                raise errors.error(("study", "select_budget"), f"`judge select` needs physician judge ratings of set "
                                   f"{key!r}: add a grader with kind physician for it, or leave it out of study.sets")
        if st.pairwise and len(st.sources) < 2:
            raise errors.error(("study", "pairwise"), "pairwise ranking needs two sources")
