"""clinqa's hf log-likelihood scoring against lm-evaluation-harness's own hf model, side by side on the same work.

The pairs are what clinqa's `loglik` strategy asks on MedQA with the lm-eval protocol (recorded from a short run);
then the same pairs are scored by `HFLM.loglikelihood` (lm-eval's hf model, wrapping the very same transformers model
and tokenizer) and by `HFBackend.loglikelihood`, each timed, in alternating order, best of --repeats. The scores must
agree (largest difference printed) and the per-question predictions must be identical.

    python benchmarks/loglik_vs_lmeval.py --model smollm2-135m-instruct --limit 8           # CPU
    python benchmarks/loglik_vs_lmeval.py --model random:1b --dtype bfloat16 --limit 64     # GPU
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from lm_eval.api.instance import Instance
from lm_eval.models.huggingface import HFLM

from clinqa.models import load_model
from clinqa.models.random_model import build_random_model
from clinqa.eval import EvalConfig, run_eval


class Recorder:
    """A backend wrapper that records every log-likelihood pair it is asked (and answers through the backend)."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def loglikelihood(self, pairs):
        self.calls.append(list(pairs))
        return self.inner.loglikelihood(pairs)


def timed(fn, repeats: int):
    best, out = float("inf"), None
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--limit", type=int, default=8)
    ap.add_argument("--k-shot", type=int, default=None)
    ap.add_argument("--batch-size", type=int, default=16, help="lm-eval's batch size")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    model = args.model
    if model.startswith("random:"):
        size = model.split(":", 1)[1]
        model = str(build_random_model(Path(tempfile.gettempdir()) / f"clinqa-random-{size}", size))
    backend = load_model(model, dtype=args.dtype)
    rec = Recorder(backend)
    run_eval(config=EvalConfig(dataset="medqa", strategy="loglik", protocol="lm-eval", limit=args.limit, k_shot=args.k_shot,
                          model=args.model, run_dir=tempfile.mkdtemp(prefix="clinqa-loglik-"), concurrency=1,
                          data_dir=args.data_dir), model=rec)
    questions = rec.calls
    pairs = [p for q in questions for p in q]
    n_tokens = sum(len(backend.tok(c + x).input_ids) for c, x in pairs)
    print(f"model {args.model}, {args.dtype}, device {backend.device}: {len(questions)} MedQA questions (lm-eval "
          f"protocol), {len(pairs)} (context, option) pairs, {n_tokens} tokens as lm-eval runs them")

    lm = HFLM(pretrained=backend.model, tokenizer=backend.tok, batch_size=args.batch_size, device=backend.device)
    instances = [Instance(request_type="loglikelihood", doc={}, arguments=p, idx=i) for i, p in enumerate(pairs)]
    t_theirs = t_ours = float("inf")
    for _ in range(args.repeats):                           # alternate, so load on a shared machine hits both
        t, theirs = timed(lambda: [ll for ll, _ in lm.loglikelihood(instances, disable_tqdm=True)], 1)
        t_theirs = min(t_theirs, t)
        t, ours = timed(lambda: backend.loglikelihood(pairs), 1)
        t_ours = min(t_ours, t)
    diff = max(abs(a - b) for a, b in zip(theirs, ours))
    same, at = 0, 0
    for q in questions:
        a, b = theirs[at:at + len(q)], ours[at:at + len(q)]
        same += a.index(max(a)) == b.index(max(b))
        at += len(q)
    print(f"{'engine':28s} {'seconds':>8s} {'pairs/s':>8s}")
    print(f"{'lm-eval HFLM (batch ' + str(args.batch_size) + ')':28s} {t_theirs:8.2f} {len(pairs) / t_theirs:8.1f}")
    print(f"{'clinqa hf':28s} {t_ours:8.2f} {len(pairs) / t_ours:8.1f}")
    print(f"RATIO lm-eval/clinqa time {t_theirs / t_ours:.2f}x; largest score difference {diff:.2e} nats; "
          f"identical predictions {same}/{len(questions)}")


if __name__ == "__main__":
    main()
