"""Batched vs one-at-a-time questions on one backend: questions/s, whether the answers are identical, peak memory,
and Ensemble Refinement's decode rate against the same engine's single-stream greedy decode.

Each mode runs in a fresh child process (so peak RSS is its own) on the same seeded MedQA subset:
- one:     --concurrency 1, every request alone
- batched: --concurrency N, the requests of N questions in flight reach the backend together
Then ER (budget --er) runs batched, and its tokens/s is compared with one greedy request decoding alone.

    python benchmarks/batching.py --model smollm2-135m-instruct --limit 50 --strategies fewshot,cot
    python benchmarks/batching.py --model random:1b --dtype bfloat16      # GPUs, no checkpoint needed

`random:<size>` builds a randomly initialised Llama (`clinqa.models.random_model`: tiny, 1b) for machines that cannot
download a model: its answers are noise, but speed and batch-invariance are measured all the same.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from clinqa.models.random_model import build_random_model

def child(spec: dict) -> dict:
    """One timed run in this process; prints its measurements as JSON."""
    import torch

    from clinqa.models import load_model
    from clinqa.models.base import GenRequest
    from clinqa.eval import EvalConfig, run_eval
    backend = load_model(spec["model"], dtype=spec["dtype"])
    if spec.get("single_stream"):
        # a prompt that asks for more than max_tokens, so the stream decodes its whole budget (a short question let
        # SmolLM2 stop after 8 tokens, and the "decode rate" was mostly its prefill)
        req = GenRequest("Explain in detail, step by step and at great length, how the heart pumps blood, how "
                         "blood pressure is regulated, and how heart failure develops.", max_tokens=spec["max_tokens"])
        backend.generate([req])                               # warm-up
        t0 = time.perf_counter()
        r = backend.generate([req])[0]
        return {"seconds": time.perf_counter() - t0, "tokens": r.completion_tokens[0], "budget": spec["max_tokens"]}
    cfg = EvalConfig(model=spec["model"], dtype=spec["dtype"], run_dir=spec["run_dir"], **spec["bench"])
    t0 = time.perf_counter()
    rows = run_eval(config=cfg, model=backend).results()
    seconds = time.perf_counter() - t0
    out = {"seconds": seconds, "tokens": sum(r["tokens"] for r in rows), "n": len(rows),
           "answers": {r["qid"]: [r["prediction"], [s["text"] for s in r["samples"]]] for r in rows},
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if torch.cuda.is_available():
        out["gpu_peak_mb"] = torch.cuda.max_memory_allocated() / 2 ** 20
    return out


def run_child(spec: dict) -> dict:
    p = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True)
    if p.returncode:
        raise SystemExit(p.stderr[-3000:])
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--dtype", default="auto")
    ap.add_argument("--task", default="medqa")
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--strategies", default="fewshot,cot")
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--er", default="5,5", help="ER budget: stage-1 paths, refinements ('' skips ER)")
    ap.add_argument("--er-limit", type=int, default=20)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    tmp = Path(tempfile.mkdtemp(prefix="clinqa-batching-"))
    model = args.model
    if model.startswith("random:"):
        size = model.split(":", 1)[1]
        model = str(build_random_model(Path(tempfile.gettempdir()) / f"clinqa-random-{size}", size))
    print(f"model {args.model}, dtype {args.dtype}, {args.task}, {args.limit} questions, max_tokens {args.max_tokens}")
    print(f"{'strategy':9s} {'mode':8s} {'seconds':>8s} {'q/s':>7s} {'tok/s':>8s} {'peak RSS MB':>12s} "
          f"{'GPU peak MB':>12s}  result")
    base = dict(dataset=args.task, limit=args.limit, max_tokens=args.max_tokens)
    for strategy in filter(None, args.strategies.split(",")):
        res = {}
        for mode, conc in (("one", 1), ("batched", args.concurrency)):
            res[mode] = r = run_child(dict(model=model, dtype=args.dtype, run_dir=str(tmp / f"{strategy}-{mode}"),
                                           bench=dict(base, strategy=strategy, concurrency=conc)))
            same = "" if mode == "one" else (
                f"RATIO batched/one {res['one']['seconds'] / r['seconds']:.2f}x; identical answers "
                f"{sum(res['one']['answers'][q][0] == a[0] for q, a in r['answers'].items())}/{r['n']}, identical "
                f"texts {sum(res['one']['answers'][q] == a for q, a in r['answers'].items())}/{r['n']}")
            print(f"{strategy:9s} {mode:8s} {r['seconds']:8.1f} {r['n'] / r['seconds']:7.2f} "
                  f"{r['tokens'] / r['seconds']:8.1f} {r['peak_rss_mb']:12.0f} {r.get('gpu_peak_mb', 0):12.0f}  {same}",
                  flush=True)
    if args.er:
        n1, n2 = (int(x) for x in args.er.split(","))
        single = run_child(dict(model=model, dtype=args.dtype, single_stream=True, max_tokens=args.max_tokens))
        er = run_child(dict(model=model, dtype=args.dtype, run_dir=str(tmp / "er"),
                            bench=dict(base, limit=args.er_limit, strategy="er", n_samples=n1, n_refine=n2,
                                       concurrency=args.concurrency)))
        s_rate, e_rate = single["tokens"] / single["seconds"], er["tokens"] / er["seconds"]
        print(f"single-stream greedy decode: {s_rate:.1f} tokens/s ({single['tokens']} of {single['budget']} tokens); "
              f"ER {n1}+{n2} on {er['n']} questions batched: "
              f"{e_rate:.1f} tokens/s; RATIO ER/single-stream {e_rate / s_rate:.2f}x")


if __name__ == "__main__":
    main()
