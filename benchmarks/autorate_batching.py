"""Batched vs one-at-a-time automatic rating: seconds, the ratio, and whether the ratings are identical.

Long-form answers to --limit LiveQA questions are written once (by the grader model itself, short), copied into two
run folders, and graded there with `autorate` at concurrency 1 and at --concurrency N, side by side in this process.
On llama.cpp every reply is decoded under the rubric's JSON schema, so the batched run decodes N constrained replies
together, each with its own grammar.

    python benchmarks/autorate_batching.py --grader llamacpp:smollm2-135m-instruct --limit 8 --concurrency 8
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from clinqa.longform.answer import AnswerConfig, run_answers
from clinqa.judge.autorate import autorate
from clinqa.models import load_model
from clinqa.eval.store import Store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grader", default="llamacpp:smollm2-135m-instruct")
    ap.add_argument("--kind", default="physician")
    ap.add_argument("--limit", type=int, default=8)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--answer-tokens", type=int, default=96)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="clinqa-autorate-"))
    backend = load_model(args.grader)
    run_answers(AnswerConfig(dataset="liveqa", limit=args.limit, max_tokens=args.answer_tokens, model=args.grader,
                             run_dir=str(tmp / "answers")), backend=backend)
    print(f"grader {args.grader}, {args.kind} rubric, {args.limit} LiveQA answers")
    out = {}
    for conc in (1, args.concurrency):
        shutil.copytree(tmp / "answers", tmp / f"c{conc}")
        t0 = time.perf_counter()
        rows = autorate(Store.open_existing(tmp / f"c{conc}"), backend, args.kind, retries=1, concurrency=conc)
        out[conc] = (time.perf_counter() - t0, {r["answer_id"]: (r["values"], r["raw"]) for r in rows})
        print(f"concurrency {conc:3d}: {out[conc][0]:7.1f} s, {sum(r['ok'] for r in rows)}/{len(rows)} parsed",
              flush=True)
    (t1, a), (tn, b) = out[1], out[args.concurrency]
    print(f"RATIO batched/one {t1 / tn:.2f}x; identical ratings (raw texts included) "
          f"{sum(a[k] == b.get(k) for k in a)}/{len(a)}")


if __name__ == "__main__":
    main()
