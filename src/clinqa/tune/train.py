"""Supervised instruction tuning with TRL's SFTTrainer and PEFT LoRA (or full fine-tuning), CPU or GPU, one process or
many (`accelerate launch -m clinqa.tune ...` with the configs in configs/accelerate/).

Several processes (DDP; FSDP where torch and accelerate support it): every process builds the same seeded mixture and
trains on its shard; only the main process writes files, and each process logs one line with its rank, the world
size, the process-group backend, the effective batch and a checksum of its trainable weights (equal on every rank when
the gradients were synchronised).

Output directory layout:
  checkpoints/checkpoint-N/   every `save_steps`; a killed run resumes from the last one with the same result
  mixture.json                recipe, target weights and realised proportions
  training_ids.json           every record id in each dataset's training part (the contamination guard reads it)
  loss.csv, loss.png          the loss curve
  config.json, model.safetensors, tokenizer files: the merged model, usable by name: --model <output dir>
"""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from clinqa.tune.format import to_example
from clinqa.tune.mixture import Recipe, build_mixture, save_mixture
from clinqa.tune.sft import HELP as SFT_HELP, check_overrides, resolved

log = logging.getLogger(__name__)


@dataclass
class TuneConfig:
    """The settings of `clinqa tune` that are clinqa's own (mixture, base model, LoRA, packing, output); TRL's
    SFTConfig fields (steps, batch, learning rate, schedule, ...) are in `sft`, over clinqa's defaults for them."""

    model: str = field(default="gemma3-270m", metadata={"help": "base model: gemma3-270m, a path or a hub id"})
    recipe: str = field(default="multimedqa", metadata={"help": "built-in recipe name or a recipe JSON file"})
    output_dir: str = field(default="runs/tune", metadata={"flags": ("--output",), "help": "output directory "
                            "(resumes if it has checkpoints)"})
    total: int | None = field(default=None, metadata={"help": "examples to sample (default: the recipe's)"})
    lora: bool = field(default=True, metadata={"flags": ("--lora/--full",), "help": "LoRA adapters (default) or "
                       "full fine-tuning"})
    lora_r: int = field(default=8, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=16, metadata={"help": "LoRA alpha (scale alpha/r)"})
    lora_targets: str = field(default="q_proj,k_proj,v_proj,o_proj", metadata={"help": "modules LoRA adapts "
                              "(comma list)"})
    packing: bool = field(default=True, metadata={"help": "pack examples into max_length blocks"})
    data_dir: str | None = field(default=None, metadata={"help": "the data root (default: $CLINQA_DATA or "
                                 "../shared/data)"})
    report_to: str = field(default="none", metadata={"help": "mlflow, wandb, tensorboard (comma list) or none; "
                           "offline by default (MLflow: sqlite store beside --output; W&B: offline mode)"})
    sft: dict[str, Any] = field(default_factory=dict, metadata={"check": check_overrides, "help": SFT_HELP})

    def __post_init__(self):
        self.sft = resolved(self.sft, self.lora)


def load_base(name: str):
    """(model, tokenizer) for training, resolved like every other model name."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from clinqa.models.resolve import _load_gguf, embedded_gguf
    if name in ("smollm2-135m-instruct", "gemma3-270m"):
        model, tok = _load_gguf(embedded_gguf(name), name)
    elif name.endswith(".gguf"):
        p = Path(name).resolve()
        model, tok = _load_gguf(p, p.stem)
    else:
        model, tok = AutoModelForCausalLM.from_pretrained(name), AutoTokenizer.from_pretrained(name)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return model, tok


def last_checkpoint(folder: Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint
    return get_last_checkpoint(str(folder)) if folder.is_dir() else None


def save_loss_curve(history: list[dict], out: Path) -> None:
    rows = [(h["step"], h["loss"]) for h in history if "loss" in h]
    with open(out / "loss.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([("step", "loss"), *rows])
    if rows:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(5, 3.2))
        ax.plot(*zip(*rows), marker=".")
        ax.set_xlabel("step")
        ax.set_ylabel("training loss")
        ax.set_title("clinqa tune: loss")
        fig.tight_layout()
        fig.savefig(out / "loss.png", dpi=120)
        plt.close(fig)


def trackers_for(cfg: TuneConfig, out: Path) -> list[str] | str:
    """TRL's report_to for cfg.report_to, kept offline: MLflow defaults to a local store beside the output
    (sqlite:///<parent>/mlflow.db, as `clinqa bench --report-to mlflow`), W&B to offline mode."""
    import os

    from clinqa.tracking import mlflow_experiment, parse_report_to
    names = parse_report_to(cfg.report_to)
    if "mlflow" in names:
        _, _, uri = mlflow_experiment(out.resolve().parent)     # the experiment, its artifacts beside the local store
        os.environ.setdefault("MLFLOW_TRACKING_URI", uri)
        os.environ.setdefault("MLFLOW_EXPERIMENT_NAME", "clinqa")
    if "wandb" in names:
        os.environ.setdefault("WANDB_MODE", "offline")
        os.environ.setdefault("WANDB_PROJECT", "clinqa")
    return names or "none"


def is_main_process() -> bool:
    """True in a single process, and in the process of global rank 0 under `accelerate launch` / torchrun."""
    import os
    return int(os.environ.get("RANK", "0")) == 0


def process_summary(trainer) -> str:
    """This process's line: rank, world size, backend, effective batch, steps, trainable-weight checksum."""
    import torch
    import torch.distributed as dist
    distributed = dist.is_available() and dist.is_initialized()
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    backend = dist.get_backend() if distributed else "none"
    params = [p for p in trainer.model.parameters() if p.requires_grad]
    sharded = any(type(p.data).__name__ == "DTensor" for p in params)
    checksum = sum(float(p.detach().double().abs().sum()) for p in params)
    batch, accum = trainer.args.per_device_train_batch_size, trainer.args.gradient_accumulation_steps
    mode = str(getattr(trainer.accelerator.distributed_type, "value", trainer.accelerator.distributed_type))
    return (f"process {rank} of {world} ({mode}, backend {backend}{', sharded weights' if sharded else ''}): effective batch {batch} x {accum} x "
            f"{world} = {batch * accum * world}, {trainer.state.global_step} steps, trainable "
            f"weights checksum {checksum:.6f}")


def sft_config(cfg: TuneConfig, out: Path):
    """TRL's SFTConfig for a run: cfg.sft (clinqa's defaults and the overrides), with what clinqa's own options set."""
    import torch
    from trl import SFTConfig
    return SFTConfig(**cfg.sft, output_dir=str(out / "checkpoints"), packing=cfg.packing,
                     report_to=trackers_for(cfg, out), run_name=f"tune-{out.name}",
                     use_cpu=not torch.cuda.is_available())


def train(cfg: TuneConfig, callbacks=()) -> Path:
    from clinqa.extras import require
    require("tune", "clinqa tune")
    from datasets import Dataset
    from trl import SFTTrainer

    out = Path(cfg.output_dir)
    main = is_main_process()
    recipe = Recipe.load(cfg.recipe)
    if cfg.total is not None:
        recipe.total, recipe.epochs = cfg.total, None
    mix = build_mixture(recipe, cfg.data_dir)          # seeded: the same in every process
    if main:
        save_mixture(mix, recipe, out)
        (out / "tune_config.json").write_text(json.dumps(asdict(cfg), indent=1))
        log.info("mixture (dataset: target weight -> realised share):")
        for d, w in mix.weights.items():
            log.info(f"  {d:14s} {w:6.3f} -> {mix.proportions[d]:6.3f}")
        for d, why in mix.skipped.items():
            log.info(f"  {d:14s} skipped: {why}")

    model, tok = load_base(cfg.model)
    data = Dataset.from_list([to_example(r) for r in mix.examples])
    peft_config = None
    if cfg.lora:
        from peft import LoraConfig
        peft_config = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=0.0, task_type="CAUSAL_LM",
                                 target_modules=cfg.lora_targets.split(","))
    args = sft_config(cfg, out)
    trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tok, peft_config=peft_config,
                         callbacks=list(callbacks))
    resume = last_checkpoint(out / "checkpoints")
    if resume:
        log.info(f"resuming from {resume}")
    trainer.train(resume_from_checkpoint=resume)
    log.info(process_summary(trainer))
    if not trainer.is_world_process_zero():
        return out
    save_loss_curve(trainer.state.log_history, out)
    merged = trainer.model.merge_and_unload() if cfg.lora else trainer.model
    # trained on raw prompt/completion text: the tuned model is prompted without a chat template
    tok.chat_template = None
    merged.save_pretrained(out)
    tok.save_pretrained(out)
    log.info(f"saved the tuned model to {out}")
    return out
