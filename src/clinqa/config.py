"""One config per command: each command's settings are one dataclass (e.g. `eval.EvalConfig`), built by keyword.
The command's CLI options carry the same names and defaults (a test checks they agree), a `--config` YAML/JSON file
may set any of them, and an option given on the command line wins over the file."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TypeVar

from clinqa.data.errors import DataError

C = TypeVar("C")


def read_config_file(path: Path, fields: set[str]) -> dict:
    """Settings from a YAML or JSON file; an unknown key is an error naming the file and the key."""
    import yaml
    if not path.is_file():
        raise DataError(path, "config file not found")
    try:
        data = json.loads(path.read_text()) if path.suffix == ".json" else yaml.safe_load(path.read_text())
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        raise DataError(path, f"not valid {'JSON' if path.suffix == '.json' else 'YAML'} ({e})") from None
    if not isinstance(data, dict):
        raise DataError(path, "expected a mapping of option names to values")
    for key in data:
        if key not in fields:
            raise DataError(path, f"unknown option; known: {', '.join(sorted(fields))}", field=key)
    return data


def build_config(cls: type[C], ctx, config_file: Path | None = None) -> C:
    """`cls(**values)` from the command's options: a config file's values replace defaults, explicit options win."""
    fields = {f.name for f in dataclasses.fields(cls)}
    values = {k: v for k, v in ctx.params.items() if k in fields}
    if config_file is not None:
        for key, value in read_config_file(Path(config_file), fields).items():
            source = ctx.get_parameter_source(key)      # typer vendors click: compare the enum by name
            if source is None or source.name in ("DEFAULT", "DEFAULT_MAP") or key not in ctx.params:
                values[key] = value
    return cls(**values)
