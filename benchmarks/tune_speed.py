"""A short `clinqa tune` (TRL SFT + LoRA, the multimedqa recipe) timed: training tokens/s and peak memory.

The base model is a randomly initialised Llama (`random:tiny` or `random:1b`) saved in the dtype asked for (a bf16
copy for GPUs), so no checkpoint download is needed; the loss is meaningless, the speed and memory are real.

    python benchmarks/tune_speed.py --model random:1b --dtype bfloat16 --steps 50      # a GPU
    python benchmarks/tune_speed.py --model random:tiny --steps 3 --max-length 128     # CPU smoke run
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback

from clinqa.models.random_model import build_random_model
from clinqa.tune.train import TuneConfig, train


class Clock(TrainerCallback):
    """Training wall time (first to last step) and the tokens TRL counted."""

    def __init__(self):
        self.start = self.end = None
        self.tokens = 0

    def on_step_begin(self, args, state, control, **kw):
        if self.start is None:
            self.start = time.perf_counter()

    def on_log(self, args, state, control, logs=None, **kw):
        self.tokens = max(self.tokens, int((logs or {}).get("num_tokens", 0)))

    def on_train_end(self, args, state, control, **kw):
        self.end = time.perf_counter()


def base_model(name: str, dtype: str) -> str:
    size = name.split(":", 1)[1]
    folder = build_random_model(Path(tempfile.gettempdir()) / f"clinqa-random-{size}", size)
    if dtype == "float32":
        return str(folder)
    target = Path(tempfile.gettempdir()) / f"clinqa-random-{size}-{dtype}"
    if not (target / "config.json").is_file():
        AutoModelForCausalLM.from_pretrained(folder, dtype=getattr(torch, dtype)).save_pretrained(target)
        AutoTokenizer.from_pretrained(folder).save_pretrained(target)
    return str(target)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="random:tiny")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    out = Path(tempfile.mkdtemp(prefix="clinqa-tune-speed-"))
    clock = Clock()
    cfg = TuneConfig(model=base_model(args.model, args.dtype), output_dir=str(out), data_dir=args.data_dir,
                     sft=dict(max_steps=args.steps, per_device_train_batch_size=args.batch_size,
                              max_length=args.max_length, save_steps=10 ** 6, logging_steps=max(1, args.steps // 5)))
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    train(cfg, callbacks=[clock])
    total = time.perf_counter() - t0
    seconds = (clock.end or time.perf_counter()) - (clock.start or t0)
    tokens = clock.tokens or args.steps * args.batch_size * args.max_length
    peak = (f"GPU peak allocated {torch.cuda.max_memory_allocated() / 2 ** 30:.2f} GiB, reserved "
            f"{torch.cuda.max_memory_reserved() / 2 ** 30:.2f} GiB" if torch.cuda.is_available() else "CPU")
    print(f"TUNE {args.model} {args.dtype} LoRA: {args.steps} steps of batch {args.batch_size} x {args.max_length} in "
          f"{seconds:.1f} s ({total:.1f} s with loading and saving): {tokens / seconds:.0f} tokens/s "
          f"({'counted by TRL' if clock.tokens else 'estimated, packed'}); {peak}")


if __name__ == "__main__":
    main()
