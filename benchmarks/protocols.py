"""How much of a difference between two reported numbers is the prompt, not the model: one model, one seeded set of
questions, every prompt protocol clinqa has (medpalm2 = the paper's, lm-eval = lm-evaluation-harness 0.4's own task
formats, simple-evals = OpenAI simple-evals' zero-shot format) with the strategies each defines.

Prints accuracy with its Clopper-Pearson interval, the extracted-letter distribution beside the gold one, and each
run's agreement with, and exact McNemar test against, the first run. Runs resume (runs/protocols-*).

    python benchmarks/protocols.py --task medqa --model smollm2-135m-instruct --limit 50
"""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from clinqa.metrics import compare_runs, letter_distribution, run_metrics
from clinqa.models import load_model
from clinqa.eval import EvalConfig, run_eval

RUNS = [("medpalm2", "loglik"), ("lm-eval", "loglik"), ("medpalm2", "fewshot"), ("lm-eval", "fewshot"),
        ("simple-evals", "fewshot"), ("medpalm2", "cot"), ("simple-evals", "cot")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="medqa")
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--max-tokens", type=int, default=256, help="for the reasoning (cot) runs")
    ap.add_argument("--runs", default=",".join(f"{p}/{s}" for p, s in RUNS), help="protocol/strategy, comma-separated")
    args = ap.parse_args()
    backends = {}
    stores = []
    for spec in args.runs.split(","):
        protocol, strategy = spec.split("/")
        cfg = EvalConfig(dataset=args.task, strategy=strategy, protocol=protocol, model=args.model, limit=args.limit,
                          max_tokens=args.max_tokens if strategy == "cot" else 256,
                          run_dir=f"runs/protocols-{args.task}-{args.model.split('/')[-1]}-{protocol}-{strategy}")
        chat = {"lm-eval": False}.get(protocol)          # lm-eval scores raw text unless told otherwise
        if chat not in backends:
            backends[chat] = load_model(args.model, chat_template=chat)
        stores.append((spec, run_eval(config=cfg, model=backends[chat])))
    t = Table(title=f"{args.task}, {args.model}, {args.limit} questions (seeded random order): prompt protocols")
    for col in ("protocol/strategy", "accuracy % [95% CI]", "no answer", "extracted letters (gold)",
                "agrees with first", "McNemar p vs first"):
        t.add_column(col)
    first = stores[0][1]
    for spec, store in stores:
        rows = store.results()
        m = run_metrics(rows)[0]
        dist = letter_distribution(rows)
        letters = " ".join(f"{L} {100 * p:.0f}" + (f" ({100 * g:.0f})" if L != "none" else "")
                           for L, (p, g) in dist.items())
        a = {r["qid"]: r["prediction"] for r in first.results()}
        agree = sum(a.get(r["qid"]) == r["prediction"] for r in rows) / max(1, len(rows))
        cmp_, _ = compare_runs(first, store)
        t.add_row(spec, m.accuracy.fmt(), f"{100 * m.no_answer:.0f}%", letters, f"{100 * agree:.0f}%",
                  f"{cmp_.mcnemar_p:.3g}")
    Console(width=200).print(t)


if __name__ == "__main__":
    main()
