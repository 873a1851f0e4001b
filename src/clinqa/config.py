"""One config per command: each command's settings are one dataclass (e.g. `eval.EvalConfig`), built by keyword.
The command's CLI options carry the same names and defaults (a test checks they agree), a `--config` YAML/JSON file
may set any of them, and an option given on the command line wins over the file. A file's values are checked against
the field's annotated type as the command line checks an option's: what YAML reads as a string ("1e-1", "3") is
converted, what cannot be converted ("three") is refused in one line naming the file and the key."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from clinqa.data.errors import DataError

C = TypeVar("C")
_TRUE, _FALSE = {"true", "yes", "y", "on", "1"}, {"false", "no", "n", "off", "0"}


def read_config_file(path: Path, fields: set[str]) -> dict:
    """Settings from a YAML or JSON file; an unknown key is an error naming the file and the key. An empty file (or
    one holding only comments) sets nothing."""
    if not path.is_file():
        raise DataError(path, "config file not found")
    text = path.read_text()
    try:
        data = json.loads(text) if path.suffix == ".json" and text.strip() else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        raise DataError(path, f"not valid {'JSON' if path.suffix == '.json' else 'YAML'} ({e})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DataError(path, "expected a mapping of option names to values")
    for key in data:
        if key not in fields:
            raise DataError(path, f"unknown option; known: {', '.join(sorted(fields))}", field=key)
    return data


def _allowed(annotation: Any) -> tuple[set[type], bool]:
    """The scalar types a field accepts and whether None is one of them (`int | None` -> ({int}, True))."""
    args = typing.get_args(annotation) if isinstance(annotation, types.UnionType) or \
        typing.get_origin(annotation) is typing.Union else (annotation,)
    return {a for a in args if a is not type(None)}, type(None) in args


def _convert(value: Any, kind: type) -> Any:
    """`value` as `kind` (int, float, bool or str) the way the command line reads the option's text, or ValueError."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            return int(value.strip())
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            return float(value.strip())
    elif kind is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    else:
        return value
    raise ValueError(value)


def coerce_value(path: Path, key: str, value: Any, annotation: Any) -> Any:
    """A config file's value for one field, converted to the field's type; a DataError naming file and key if it
    is not one."""
    kinds, nullable = _allowed(annotation)
    if value is None and nullable:
        return None
    for kind in kinds:
        try:
            return _convert(value, kind)
        except ValueError:
            continue
    names = " or ".join(k.__name__ for k in kinds) + (" or null" if nullable else "")
    raise DataError(path, f"{value!r} is not a valid {names}", field=key)


def build_config(cls: type[C], ctx, config_file: Path | None = None) -> C:
    """`cls(**values)` from the command's options: a config file's values replace defaults, explicit options win."""
    fields = {f.name for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    values = {k: v for k, v in ctx.params.items() if k in fields}
    if config_file is not None:
        path = Path(config_file)
        for key, value in read_config_file(path, fields).items():
            source = ctx.get_parameter_source(key)      # typer vendors click: compare the enum by name
            if source is None or source.name in ("DEFAULT", "DEFAULT_MAP") or key not in ctx.params:
                values[key] = coerce_value(path, key, value, hints[key])
    return cls(**values)
