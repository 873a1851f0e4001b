"""Batched vs one-at-a-time questions on one backend: questions/s, whether the answers are identical, peak memory,
and Ensemble Refinement's decode rate against the same engine's single-stream greedy decode.

Each mode runs in a fresh child process (so peak RSS is its own) on the same seeded MedQA subset:
- one:     --concurrency 1, every request alone
- batched: --concurrency N, the requests of N questions in flight reach the backend together
Then ER (budget --er) runs batched, and its tokens/s is compared with one greedy request decoding alone.
Last, the engine's decode step (`--step-rows`, `hf_step_profile.step_seconds`): on GPUs tokens/s at each batch size
and the fraction of the memory-bandwidth roofline (weights + KV cache bytes read per step over the device's
bandwidth); on CPUs the per-step time of batch 64 against batch 1 with the tiny random model (overhead dominates).

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

import torch
from hf_step_profile import PROMPT, step_seconds

from clinqa.models.base import GenRequest
from clinqa.models.random_model import build_random_model

NOMINAL_BANDWIDTH = {"H200": 4.8e12, "H100": 3.35e12, "A100": 2.0e12, "L40S": 0.864e12, "A10G": 0.6e12,
                     "L4": 0.3e12, "RTX 4090": 1.008e12}    # bytes/s, the vendors' figures (SXM where two exist)

def child(spec: dict) -> dict:
    """One timed run in this process; prints its measurements as JSON."""
    import torch

    from clinqa.models import load_model
    from clinqa.models.base import GenRequest
    from clinqa.eval import EvalConfig, run_eval
    backend = load_model(spec["model"], dtype=spec["dtype"])
    if spec.get("step_rows"):
        return step_child(backend, spec["step_rows"])
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
        out["gpu_reserved_mb"] = torch.cuda.max_memory_reserved() / 2 ** 20
    return out


def copy_bandwidth() -> float:
    """Bytes/s a device-to-device copy of 1 GiB moves (read + written): what the device's memory sustains."""
    x = torch.empty(2 ** 30, dtype=torch.uint8, device="cuda")
    y = torch.empty_like(x)
    y.copy_(x)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(10):
        y.copy_(x)
    torch.cuda.synchronize()
    return 10 * 2 * x.numel() / (time.perf_counter() - t0)


def step_child(backend, rows: list[int]) -> dict:
    """Seconds per decode step at each batch size; on GPUs the bytes each step reads."""
    out = {"rows": rows, "step_s": [step_seconds(backend, "clinqa", r) for r in rows]}
    if torch.cuda.is_available():
        prompt = len(backend._ids(backend.render(GenRequest(PROMPT))))
        weights = sum(p.numel() * p.element_size() for p in backend.model.parameters())
        context = prompt + 24                   # the timed window is steps 8..40
        out["bytes"] = [weights + r * context * backend.kv_per_token for r in rows]
        out["measured_bw"] = copy_bandwidth()
        name = torch.cuda.get_device_name()
        out["nominal_bw"] = next((bw for key, bw in NOMINAL_BANDWIDTH.items() if key in name), None)
        out["device"] = name
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
    ap.add_argument("--step-rows", default=None, help="batch sizes for the decode-step timing (default 1,64 on CPUs, "
                    "1,64,128 on GPUs; '' skips it)")
    ap.add_argument("--step-model", default=None, help="model for the step timing (default: random:tiny on CPUs, "
                    "--model on GPUs)")
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
              f"{e_rate:.1f} tokens/s; RATIO ER/single-stream {e_rate / s_rate:.2f}x; GPU peak allocated "
              f"{er.get('gpu_peak_mb', 0):.0f} MB, reserved {er.get('gpu_reserved_mb', 0):.0f} MB")
    step_report(args, model)


def step_report(args, model: str) -> None:
    gpu = torch.cuda.is_available()
    rows = args.step_rows if args.step_rows is not None else ("1,64,128" if gpu else "1,64")
    if not rows:
        return
    name = args.step_model or (args.model if gpu else "random:tiny")
    if name.startswith("random:"):
        size = name.split(":", 1)[1]
        path = str(build_random_model(Path(tempfile.gettempdir()) / f"clinqa-random-{size}", size))
    else:
        path = model if name == args.model else name
    dtype = args.dtype if name == args.model else ("float32" if not gpu else args.dtype)
    r = run_child(dict(model=path, dtype=dtype, step_rows=[int(x) for x in rows.split(",")]))
    print(f"decode step, {name} ({dtype}), sampled rows of one prompt, prefill excluded:")
    for i, (n, s) in enumerate(zip(r["rows"], r["step_s"])):
        line = f"  batch {n:4d}: {s * 1e3:8.2f} ms/step, {n / s:9.1f} tokens/s"
        if "bytes" in r:
            bw = r["nominal_bw"] or r["measured_bw"]
            line += (f", {r['bytes'][i] / s / 1e9:7.1f} GB/s read = {r['bytes'][i] / s / bw:6.1%} of the roofline "
                     f"({bw / 1e12:.2f} TB/s {'nominal' if r['nominal_bw'] else 'measured copy'}, {r['device']})")
        print(line)
    print(f"RATIO per-step time batch {r['rows'][-1]}/batch {r['rows'][0]}: {r['step_s'][-1] / r['step_s'][0]:.2f}x"
          + (f"; measured copy bandwidth {r['measured_bw'] / 1e12:.2f} TB/s" if "measured_bw" in r else ""))


if __name__ == "__main__":
    main()
