"""A command's options made from its config dataclass: `@config_options(EvalConfig)` gives the command one option per
field (the field's name, type and default; help and extra flags from the field's metadata) and `--config FILE`, and
hands the command the built config. Typer reads a function's `__signature__`, so the command's signature is the
dataclass's fields, then `--config`, then the command's own options.

Field metadata: `help` (the option's help), `flags` (the option's names, e.g. `("--task", "--dataset")` or
`("--lora/--full",)`; default `--field-name`, and `--x/--no-x` for a bool). A mapping field (`dict`) is a repeated
`--field key=value` option, each value read as YAML (`--sft warmup_steps=10`)."""

from __future__ import annotations

import dataclasses
import inspect
import typing
from pathlib import Path
from typing import Any, Callable, List, Optional

import typer
import yaml

from clinqa.cli.common import fail
from clinqa.config import allowed_types, load_config

CONFIG_HELP = ("YAML/JSON file setting any of these options by name, `_` for `-` (max_tokens: 64); options given on "
               "the command line win")
_DEFAULT_SOURCES = ("DEFAULT", "DEFAULT_MAP")       # typer vendors click: compare the enum by name


def _is_mapping(annotation: Any) -> bool:
    kinds, _ = allowed_types(annotation)
    return any((typing.get_origin(k) or k) is dict for k in kinds)


def field_parameter(field: dataclasses.Field, annotation: Any) -> inspect.Parameter:
    """The option for one field: its default, type, help and flags."""
    kinds, nullable = allowed_types(annotation)
    flags = tuple(field.metadata.get("flags", ()))
    dashed = "--" + field.name.replace("_", "-")
    mapping = _is_mapping(annotation)
    if mapping:
        annotation, default = List[str], []
        flags = flags or (dashed,)
    else:
        default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
        if kinds == [bool] and not flags:
            flags = (f"{dashed}/--no-{dashed[2:]}",)
        annotation = Optional[kinds[0]] if nullable and len(kinds) == 1 else annotation
    option = typer.Option(default, *flags, help=field.metadata.get("help"),
                          metavar="KEY=VALUE" if mapping else None)
    return inspect.Parameter(field.name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=annotation)


def key_values(option: str, pairs: list[str]) -> dict[str, Any]:
    """`["a=1", "b=x"]` -> {"a": 1, "b": "x"} (values read as YAML); a pair without `=` is a ValueError."""
    out = {}
    for pair in pairs:
        key, eq, text = pair.partition("=")
        if not eq or not key.strip():
            raise ValueError(f"{option} {pair!r}: expected key=value")
        try:
            out[key.strip()] = yaml.safe_load(text)
        except yaml.YAMLError:
            out[key.strip()] = text
    return out


def config_options(cls: type) -> Callable:
    """Decorator for a Typer command whose first parameter takes a `cls` instance: the command gets `cls`'s fields
    as options and `--config`, and is called with the config they build (errors end the command in one line)."""
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)
    generated = [field_parameter(f, hints[f.name]) for f in fields]
    config = inspect.Parameter("config", inspect.Parameter.KEYWORD_ONLY, annotation=Optional[Path],
                               default=typer.Option(None, help=CONFIG_HELP))
    context = inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)

    def decorate(command: Callable) -> Callable:
        own_hints = typing.get_type_hints(command)
        _, *own = inspect.signature(command).parameters.values()          # the first takes the config
        own = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=own_hints.get(p.name, p.annotation))
               for p in own]

        def run(ctx: typer.Context, config: Path | None = None, **options):
            given = {}
            for f in fields:
                value = options.pop(f.name)
                if ctx.get_parameter_source(f.name).name not in _DEFAULT_SOURCES:
                    given[f.name] = value
            try:
                given = {k: key_values(f"--{k}", v) if _is_mapping(hints[k]) else v for k, v in given.items()}
                built = load_config(cls, given, config)
            except ValueError as e:
                fail(str(e))
            return command(built, **options)

        params = [context, *generated, config, *own]
        run.__signature__ = inspect.Signature(params)
        run.__annotations__ = {p.name: p.annotation for p in params}
        run.__name__, run.__qualname__, run.__doc__ = command.__name__, command.__qualname__, command.__doc__
        run.__module__ = command.__module__
        return run
    return decorate
