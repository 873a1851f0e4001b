"""TRL's `SFTConfig` fields passed through `clinqa tune` (`--sft key=value`, an `sft:` mapping in `--config`): clinqa's
defaults for some of them, the short options of `clinqa tune` that name them (`--batch-size` is
`per_device_train_batch_size`), and the check of keys and values against `dataclasses.fields(trl.SFTConfig)`."""

from __future__ import annotations

import dataclasses
import difflib
import typing
from typing import Any

from clinqa.config import convert

# clinqa's choices where TRL's default differs (TRL: max_steps -1, batch 8, max_length 1024, save_steps 500, ...)
DEFAULTS = {"max_steps": 100, "per_device_train_batch_size": 4, "gradient_accumulation_steps": 1, "max_length": 512,
            "save_steps": 25, "save_total_limit": 3, "logging_steps": 5, "seed": 0, "dataloader_num_workers": 0,
            "disable_tqdm": False}
LEARNING_RATE = {True: 2e-4, False: 2e-5}             # by LoRA (True) or full fine-tuning (False)
HELP = ("a field of TRL's SFTConfig as key=value (repeatable; values read as YAML), e.g. --sft warmup_steps=10 "
        "--sft lr_scheduler_type=cosine; clinqa's defaults: "
        + ", ".join(f"{k}={v}" for k, v in DEFAULTS.items()) + f", learning_rate={LEARNING_RATE[True]:g} (LoRA) / {LEARNING_RATE[False]:g} (--full)")
# `clinqa tune`'s short options -> the SFTConfig field each sets
SHORT_OPTIONS = {"max_steps": "max_steps", "learning_rate": "learning_rate", "max_length": "max_length",
                 "batch_size": "per_device_train_batch_size", "grad_accum": "gradient_accumulation_steps",
                 "save_steps": "save_steps", "logging_steps": "logging_steps", "seed": "seed"}
# set from clinqa's own options: refused in `sft`
OWNED = {"output_dir": "--output", "packing": "--packing/--no-packing", "report_to": "--report-to",
         "run_name": "--output (tune-<name>)", "use_cpu": "(on when no GPU)"}


def resolved(overrides: dict[str, Any], lora: bool) -> dict[str, Any]:
    """The SFTConfig fields a run sets: clinqa's defaults (the learning rate by `lora`), then `overrides`; the data
    seed follows the seed unless given."""
    sft = {**DEFAULTS, "learning_rate": LEARNING_RATE[lora], **overrides}
    sft.setdefault("data_seed", sft["seed"])
    return sft


def sft_fields() -> dict[str, Any]:
    """SFTConfig's fields and their annotated types."""
    from trl import SFTConfig
    names = {f.name for f in dataclasses.fields(SFTConfig) if f.init}
    return {name: kind for name, kind in typing.get_type_hints(SFTConfig).items() if name in names}


def check_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    """`overrides` with each value converted to its SFTConfig field's type; ValueError naming a key that is no
    SFTConfig field, one that clinqa's own options set, or a value of the wrong type."""
    if not isinstance(overrides, dict):
        raise ValueError(f"expected a mapping of SFTConfig fields to values, got {overrides!r}")
    kinds = sft_fields()
    out = {}
    for key, value in overrides.items():
        if key in OWNED:
            raise ValueError(f"{key!r} is set by clinqa tune's {OWNED[key]}, not by the SFTConfig pass-through")
        if key not in kinds:
            close = difflib.get_close_matches(key, list(kinds), n=3)
            hint = f" (did you mean {' or '.join(close)}?)" if close else ""
            raise ValueError(f"{key!r} is not a field of TRL's SFTConfig{hint}")
        try:
            out[key] = convert(value, kinds[key])
        except ValueError as e:
            raise ValueError(f"{key}: {e}") from None
    return out
