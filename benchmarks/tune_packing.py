"""Training throughput of `clinqa tune` with sequence packing vs without, side by side (same model, data, steps).

Packing concatenates short examples into full `max_length` rows, so fewer tokens are padding. Prints, for each mode,
wall time, real (non-padding) training tokens processed and tokens/s, then the ratio packed/unpacked.

    python benchmarks/tune_packing.py --model gemma3-270m --steps 8
"""

from __future__ import annotations

import argparse
import tempfile
import time

from transformers import TrainerCallback

from clinqa.tune.train import TuneConfig, train


class CountTokens(TrainerCallback):
    """Counts the non-padding tokens the trainer actually saw (TRL logs `num_tokens`)."""

    def __init__(self):
        self.tokens = 0.0

    def on_log(self, args, state, control, logs=None, **kw):
        if logs and "num_tokens" in logs:
            self.tokens = logs["num_tokens"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="gemma3-270m")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--max-length", type=int, default=256)
    args = ap.parse_args()
    rows = []
    for packing in (False, True):
        out = tempfile.mkdtemp(prefix="clinqa-pack-")
        cb = CountTokens()
        cfg = TuneConfig(model=args.model, output_dir=out, total=400, packing=packing,
                         sft=dict(max_steps=args.steps, per_device_train_batch_size=args.batch_size,
                                  max_length=args.max_length, save_steps=10_000, logging_steps=1))
        t0 = time.perf_counter()
        train(cfg, callbacks=[cb])
        sec = time.perf_counter() - t0
        rows.append((packing, sec, cb.tokens))
    print(f"\n{'mode':12s}{'wall s':>10s}{'train tokens':>14s}{'tokens/s':>10s}")
    for packing, sec, tok in rows:
        print(f"{'packed' if packing else 'unpacked':12s}{sec:10.1f}{tok:14.0f}{tok / sec:10.1f}")
    (_, s0, t0_), (_, s1, t1) = rows
    print(f"RATIO packed/unpacked tokens/s: {(t1 / s1) / (t0_ / s0):.2f}x  (same {args.steps} steps of batch "
          f"{args.batch_size}, max_length {args.max_length}; wall time includes model load and saving)")


if __name__ == "__main__":
    main()
