"""Cost of self-consistency and Ensemble Refinement: naive sampling vs a shared prompt vs adaptive stopping.

For the same model, machine and MedQA questions, each strategy runs three ways:
- naive:    one request per sample (n=1 each, seeds seed+i), so every sample prefills the prompt again
- shared:   one request with n samples: one prefill, n continuations decoded together from the shared KV cache
- adaptive: shared, drawn in batches of --batch, stopping by the beta rule (confidence --confidence)
and the full-budget reference `full-batched` (the same batches, never stopping; its answer is what adaptive is
compared with). Prints per-question wall time, tokens generated and samples, then totals, the naive/shared and
naive/adaptive speed ratios, the share of the sample budget adaptive used and its agreement with the full budget,
and tokens/s for each backend.

    python benchmarks/sampling.py --questions 20 --backends hf,llamacpp
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from clinqa.tasks import load
from clinqa.models import GenRequest, load_model
from clinqa.models.base import Backend
from clinqa.eval import SampleContext
from clinqa.eval.store import Store
from clinqa.strategies import StrategyConfig, make_strategy
from clinqa.strategies.adaptive import AdaptiveRule
from clinqa.strategies.exemplars import default_pool
from clinqa.tasks import get_task


class Naive(Backend):
    """The baseline: splits an n-sample request into n single requests (no shared prefill, no batching)."""

    def __init__(self, inner: Backend):
        self.inner, self.name = inner, f"naive({inner.name})"

    def _generate(self, requests):
        out = []
        for r in requests:
            parts = [self.inner.generate([replace(r, n=1, seed=None if r.seed is None else r.seed + i)])[0]
                     for i in range(r.n)]
            first = parts[0]
            first.texts = [p.texts[0] for p in parts]
            first.completion_tokens = [p.completion_tokens[0] for p in parts]
            first.seconds = sum(p.seconds for p in parts)
            out.append(first)
        return out


def run_one(strategy, backend, q, exemplars, cfg, store_dir):
    t0 = time.perf_counter()
    out = make_strategy(strategy, cfg).run(q, exemplars, SampleContext(Store(store_dir), backend, q.id, cfg.seed))
    return out, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=20)
    ap.add_argument("--strategies", default="sc,er")
    ap.add_argument("--backends", default="hf", help="comma list: hf, llamacpp (model names are derived from --model)")
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--shots", type=int, default=5, help="CoT exemplars in the prompt")
    ap.add_argument("--n-samples", type=int, default=11)
    ap.add_argument("--n-refine", type=int, default=33)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--confidence", type=float, default=0.95)
    ap.add_argument("--modes", default="naive,shared,adaptive", help="which modes to time (naive is slow)")
    args = ap.parse_args()

    questions = load("medqa", "test")[:args.questions]
    exemplars = default_pool(get_task("medqa"), 4, True)[:args.shots]
    modes = args.modes.split(",")
    tmp = Path(tempfile.mkdtemp(prefix="clinqa-sampling-"))
    base = StrategyConfig(n_samples=args.n_samples, n_refine=args.n_refine, max_tokens=args.max_tokens)
    cfgs = {"naive": base, "shared": base,
            "adaptive": replace(base, adaptive=AdaptiveRule(args.batch, "beta", args.confidence)),
            "full-batched": replace(base, adaptive=AdaptiveRule(args.batch, "off"))}
    for bname in args.backends.split(","):
        name = args.model if bname == "hf" else f"{bname}:{args.model}"
        t0 = time.perf_counter()
        backend = load_model(name)
        print(f"\n=== backend {bname} ({name}), loaded in {time.perf_counter() - t0:.1f}s; "
              f"{len(questions)} MedQA questions, {len(exemplars)} shots, max_tokens {args.max_tokens}")
        for strategy in args.strategies.split(","):
            budget = args.n_samples + (args.n_refine if strategy == "er" else 0)
            totals = {m: [0.0, 0, 0] for m in [*modes, "full-batched"]}   # seconds, tokens, samples
            agree = 0
            print(f"\n--- {strategy} (full budget {budget} samples)")
            print(f"{'question':14s}" + "".join(f"{m + ' s':>12s}{'tok':>7s}{'smp':>5s}" for m in modes) + "  answers")
            for q in questions:
                line, answers = f"{q.id:14s}", {}
                for m in modes:
                    be = Naive(backend) if m == "naive" else backend
                    # adaptive and its full-budget reference share one store, so the reference extends the same batches
                    store = tmp / bname / strategy / ("adaptive" if m == "adaptive" else m) / q.id
                    out, sec = run_one(strategy, be, q, exemplars, cfgs[m], store)
                    totals[m][0] += sec
                    totals[m][1] += out.tokens
                    totals[m][2] += len(out.samples)
                    answers[m] = out.prediction
                    line += f"{sec:12.1f}{out.tokens:7d}{len(out.samples):5d}"
                if "adaptive" in modes:
                    ref, _ = run_one(strategy, backend, q, exemplars, cfgs["full-batched"],
                                     tmp / bname / strategy / "adaptive" / q.id)
                    answers["full"] = ref.prediction
                    agree += ref.prediction == answers["adaptive"]
                print(line + "  " + " ".join(f"{k}={v}" for k, v in answers.items()), flush=True)
            n = len(questions)
            print(f"{'total':14s}" + "".join(f"{totals[m][0]:12.1f}{totals[m][1]:7d}{totals[m][2]:5d}" for m in modes))
            for m in modes:
                s, tok, _ = totals[m]
                print(f"  {m:9s} {s / n:8.1f} s/question  {tok / max(s, 1e-9):7.1f} tokens/s")
            if "naive" in modes and "shared" in modes:
                print(f"  RATIO naive/shared wall time: {totals['naive'][0] / totals['shared'][0]:.2f}x")
            if "naive" in modes and "adaptive" in modes:
                print(f"  RATIO naive/adaptive wall time: {totals['naive'][0] / totals['adaptive'][0]:.2f}x")
            if "adaptive" in modes:
                print(f"  adaptive used {totals['adaptive'][2] / (budget * n):.1%} of the sample budget; "
                      f"agreement with the full-budget answer: {agree}/{n} = {agree / n:.1%}")


if __name__ == "__main__":
    main()
