"""One config per command: each command's settings are one dataclass (e.g. `eval.EvalConfig`), built by keyword. The
dataclass is the one place its options live: a field's default is the option's default, its metadata holds the
option's help and flags (`cli/options.py` makes the command's options from them), and `--config run.yaml` sets any
field by name. `load_config` builds the dataclass for every command: defaults, then the file, then the options given
on the command line. A file's values are checked against the field's annotated type as the command line checks an
option's: what YAML reads as a string ("1e-1", "3") is converted, what cannot be converted ("three") is refused in one
line naming the file and the field. A field whose metadata has a `check` (a function of the value, raising ValueError)
has its values passed through it, from the file and from the command line alike."""

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


def allowed_types(annotation: Any) -> tuple[list, bool]:
    """The types a field accepts and whether None is one of them (`int | None` -> ([int], True))."""
    args = typing.get_args(annotation) if isinstance(annotation, types.UnionType) or \
        typing.get_origin(annotation) is typing.Union else (annotation,)
    return [a for a in args if a is not type(None)], type(None) in args


def _convert(value: Any, kind: Any) -> Any:
    """`value` as `kind` the way the command line reads the option's text (int, float, bool, str; a dict or list
    must be one), or ValueError; other types (enums, Literal) take the value as it is."""
    container = typing.get_origin(kind) or kind
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
    elif container in (dict, list):
        if isinstance(value, container):
            return value
    else:
        return value
    raise ValueError(value)


def convert(value: Any, annotation: Any) -> Any:
    """`value` converted to a field's annotated type; ValueError saying what it is not."""
    kinds, nullable = allowed_types(annotation)
    if value is None and nullable:
        return None
    for kind in kinds:
        try:
            return _convert(value, kind)
        except ValueError:
            continue
    names = " or ".join(getattr(typing.get_origin(k) or k, "__name__", str(k)) for k in kinds)
    raise ValueError(f"{value!r} is not a valid {names}{' or null' if nullable else ''}")


def load_config(cls: type[C], given: dict[str, Any], config_file: Path | None = None) -> C:
    """`cls(**values)`: the dataclass's defaults, replaced by a config file's values (checked and converted), replaced
    by `given` (the options given on the command line). A mapping field takes both, key by key, the command line's
    keys winning. A bad value is a ValueError naming the file (or the option) and the field."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    if config_file is not None:
        path = Path(config_file)
        for key, value in read_config_file(path, set(fields)).items():
            try:
                values[key] = _checked(fields[key], convert(value, hints[key]))
            except ValueError as e:
                raise DataError(path, str(e), field=key) from None
    for key, value in given.items():
        try:
            value = _checked(fields[key], value)
        except ValueError as e:
            raise ValueError(f"--{key.replace('_', '-')}: {e}") from None
        both_mappings = isinstance(value, dict) and isinstance(values.get(key), dict)
        values[key] = {**values[key], **value} if both_mappings else value
    return cls(**values)


def _checked(field: dataclasses.Field, value: Any) -> Any:
    check = field.metadata.get("check")
    return check(value) if check else value
