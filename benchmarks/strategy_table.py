"""The paper's strategy table (Med-PaLM 2, Table 4 style) on a model above chance: few-shot, chain-of-thought,
self-consistency, Ensemble Refinement, log-likelihood scoring, kNN exemplars and choice shuffling, on one seeded
subset of questions, with Clopper-Pearson intervals and paired comparisons (exact McNemar test, paired bootstrap
interval of the difference) against CoT.

Budgets are small so that it runs on 2 CPU cores; they are printed in the table. Every run resumes
(runs/strategy-table-*), so an interrupted table picks up where it stopped; `--strategies` runs a subset and the
table shows every strategy that has results.

    python benchmarks/strategy_table.py --model llamacpp:qwen2.5-coder-1.5b-instruct --limit 20

Writes the table as Markdown too (`--out`, default runs/strategy-table-<task>.md).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from clinqa.metrics import compare_runs, letter_distribution, run_metrics
from clinqa.eval import EvalConfig, run_eval
from clinqa.eval.store import Store

# strategy -> (EvalConfig fields, budget as printed)
STRATEGIES = {
    "fewshot": (dict(k_shot=0, max_tokens=192), "0-shot, greedy answer"),    # answer-only: max_tokens unused
    "loglik": (dict(k_shot=0, max_tokens=192), "0-shot, option scores"),
    "knn": (dict(k_shot=2, max_tokens=192), "2 nearest exemplars, answer only"),
    "cot": (dict(k_shot=2), "2-shot, 1 greedy path"),
    "sc": (dict(k_shot=2, n_samples=3), "2-shot, 3 paths, T=0.7"),
    "shuffle": (dict(k_shot=2, n_samples=3), "2-shot, 3 option orders, T=0.7"),
    "er": (dict(k_shot=2, n_samples=3, n_refine=3), "2-shot, 3 paths + 3 refinements"),
}


def config_for(strategy: str, args) -> EvalConfig:
    fields = {"max_tokens": args.max_tokens, **STRATEGIES[strategy][0]}
    slug = args.model.split(":")[-1].split("/")[-1].split("?")[0]
    return EvalConfig(dataset=args.task, strategy=strategy, model=args.model, limit=args.limit, seed=args.seed,
                       concurrency=args.concurrency, run_dir=f"{args.runs}/strategy-table-{args.task}-{slug}-{strategy}",
                       **fields)


def table(stores: dict[str, Store], args) -> tuple[Table, str]:
    cols = ("strategy", "budget", "n", "accuracy % [95% CI]", "no answer", "extracted letters (gold)",
            "diff vs CoT, pp [95% CI]", "McNemar p vs CoT", "tokens/q")
    t = Table(title=f"{args.task}, {args.model}, seeded subset (seed {args.seed}, limit {args.limit})")
    for c in cols:
        t.add_column(c)
    md = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    ref = stores.get("cot")
    for name, store in stores.items():
        rows = store.results()
        if not rows:
            continue
        m = run_metrics(rows)[0]
        dist = letter_distribution(rows)
        letters = " ".join(f"{L} {100 * p:.0f}" + (f" ({100 * g:.0f})" if L != "none" else "")
                           for L, (p, g) in dist.items())
        if ref is not None and name != "cot" and ref.results():
            cmp_, _ = compare_runs(ref, store)
            d = cmp_.diff
            diff, p = f"{100 * d.estimate:+.1f} [{100 * d.low:+.1f}, {100 * d.high:+.1f}]", f"{cmp_.mcnemar_p:.2g}"
        else:
            diff, p = "—", "—"
        tokens = sum(r.get("tokens", 0) for r in rows) / len(rows)
        cells = (name, STRATEGIES[name][1], str(len(rows)), m.accuracy.fmt(), f"{100 * m.no_answer:.0f}%", letters,
                 diff, p, f"{tokens:.0f}")
        t.add_row(*cells)
        md.append("| " + " | ".join(cells) + " |")
    return t, "\n".join(md)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="medqa")
    ap.add_argument("--model", default="llamacpp:qwen2.5-coder-1.5b-instruct")
    ap.add_argument("--limit", type=int, default=20)
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--strategies", default=",".join(STRATEGIES), help="comma-separated, run in this order")
    ap.add_argument("--runs", default="runs")
    ap.add_argument("--out", default=None, help="Markdown copy of the table")
    ap.add_argument("--table-only", action="store_true", help="print the table from stored results, run nothing")
    args = ap.parse_args()
    backend = None
    stores: dict[str, Store] = {}
    for name in STRATEGIES:                       # every strategy with stored results appears in the table
        cfg = config_for(name, args)
        if name in args.strategies.split(",") and not args.table_only:
            if backend is None:
                from clinqa.models import load_model
                backend = load_model(args.model)
            t0 = time.perf_counter()
            stores[name] = run_eval(config=cfg, model=backend)
            print(f"{name}: {time.perf_counter() - t0:.0f} s", flush=True)
        elif Path(cfg.run_dir).is_dir():
            stores[name] = Store(cfg.run_dir)
    t, md = table(stores, args)
    Console(width=220).print(t)
    out = Path(args.out or f"{args.runs}/strategy-table-{args.task}.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(md + "\n")
    print(f"table written to {out}")


if __name__ == "__main__":
    main()
