"""What batching buys on vLLM: MedQA questions/s with all requests in one `generate` call vs one call per question,
for fewshot and CoT, and Ensemble Refinement's tokens/s vs single-stream greedy decoding on the same engine.

The requests are the real ones clinqa's strategies make for the first --questions MedQA questions (captured by
running the strategy against a recording backend, so no engine output can change them). Each is timed both ways on
one engine; greedy answers must come out the same both ways (checked and printed). ER runs for real on
--er-questions questions (its stage 2 depends on stage 1), one question at a time; within a question its N and M
samples are batched by the backend.

Runs in the vLLM venv (CPU build: scripts/vllm_cpu_env.sh; on a GPU machine any env with vllm):

    HF_HUB_OFFLINE=1 VLLM_CPU_KVCACHE_SPACE=2 VLLM_ENABLE_V1_MULTIPROCESSING=0 OMP_NUM_THREADS=1 \
      PYTHONPATH=src $(bash scripts/vllm_cpu_env.sh) benchmarks/vllm_batching.py --model PATH --questions 50
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from clinqa.models.base import Backend, GenRequest, GenResult
from clinqa.eval import EvalConfig, run_eval


class Recorder(Backend):
    """Answers every request with a fixed CoT-shaped text and keeps the requests."""

    name = "recorder"

    def __init__(self):
        self.requests: list[GenRequest] = []

    def _generate(self, requests):
        self.requests += requests
        return [GenResult(["The answer is (A)."] * r.n, [5] * r.n, 10) for r in requests]


def captured(strategy: str, questions: int, data_dir: str | None, max_tokens: int, tmp: Path) -> list[GenRequest]:
    rec = Recorder()
    run_eval(config=EvalConfig(dataset="medqa", strategy=strategy, limit=questions, max_tokens=max_tokens, seed=1,
                          run_dir=tempfile.mkdtemp(dir=tmp), data_dir=data_dir), model=rec)
    return rec.requests


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="a transformers model folder or hub id")
    ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--questions", type=int, default=50)
    ap.add_argument("--single", type=int, default=None,
                    help="time one-at-a-time on only the first N of them (default all; q/s compared per question)")
    ap.add_argument("--cot-tokens", type=int, default=256)
    ap.add_argument("--er-questions", type=int, default=2)
    ap.add_argument("--er-samples", type=int, default=11)
    ap.add_argument("--er-refine", type=int, default=33)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--eager", action=argparse.BooleanOptionalAction, default=True)
    a = ap.parse_args()

    from clinqa.models.vllm_backend import VLLMBackend
    tmp = Path(tempfile.mkdtemp(prefix="vllm-batching-"))
    be, load_s = timed(lambda: VLLMBackend(a.model, dtype=a.dtype, enforce_eager=a.eager, max_model_len=4096))
    print(f"engine: vllm {be.describe()['vllm']}, {a.model}, {a.dtype}, eager={a.eager}, loaded in {load_s:.0f} s")

    rows = []
    for strategy in ("fewshot", "cot"):
        reqs = captured(strategy, a.questions, a.data_dir, a.cot_tokens, tmp)
        single = reqs[:a.single] if a.single else reqs
        be.generate(reqs[:2])                                     # warm-up
        # the warm-up caches the exemplar prefix every prompt shares, for both ways; the batched call (timed second)
        # also finds the --single prompts' question parts cached, a small edge when --single is small
        one, t_one = timed(lambda: [be.generate([r])[0] for r in single])
        many, t_many = timed(lambda: be.generate(reqs))
        same = sum(x.texts == y.texts for x, y in zip(one, many))
        toks = sum(sum(r.completion_tokens) for r in many)
        rows.append((strategy, len(reqs), len(single), len(single) / t_one, len(reqs) / t_many, toks / t_many,
                     sum(sum(r.completion_tokens) for r in one) / t_one, same))
        print(f"  {strategy}: {len(reqs)} batched in {t_many:.1f} s, {len(single)} single in {t_one:.1f} s", flush=True)

    print(f"\n{'strategy':8} {'questions':>9} {'single q/s':>11} {'batched q/s':>12} {'ratio':>6} "
          f"{'single tok/s':>13} {'batched tok/s':>14} {'same greedy text':>17}")
    for s, n, n1, q1, qn, tn, t1, same in rows:
        print(f"{s:8} {n:>9} {q1:>11.3f} {qn:>12.3f} {qn / q1:>5.1f}x {t1:>13.1f} {tn:>14.1f} {same:>12}/{n1}")

    # ER (real, stage 2 built from stage 1) vs single-stream greedy decode on the same engine
    store, t_er = timed(lambda: run_eval(config=EvalConfig(
        dataset="medqa", strategy="er", limit=a.er_questions, n_samples=a.er_samples, n_refine=a.er_refine,
        max_tokens=a.cot_tokens, seed=1, run_dir=str(tmp / "er"), data_dir=a.data_dir), model=be))
    er_tokens = sum(s["tokens"] for r in store.results() for s in r["samples"])
    greedy = captured("cot", a.er_questions, a.data_dir, a.cot_tokens, tmp)
    outs, t_g = timed(lambda: [be.generate([r])[0] for r in greedy])
    g_tokens = sum(sum(r.completion_tokens) for r in outs)
    print(f"\nER ({a.er_samples}+{a.er_refine} samples, {a.er_questions} questions): {er_tokens} tokens in "
          f"{t_er:.1f} s = {er_tokens / t_er:.1f} tok/s; single-stream greedy CoT: {g_tokens} tokens in {t_g:.1f} s = "
          f"{g_tokens / t_g:.1f} tok/s; ratio {er_tokens / t_er / (g_tokens / t_g):.1f}x")
    print(f"prefix cache over the whole run: {be.prefix_cache_stats()}")


if __name__ == "__main__":
    main()
