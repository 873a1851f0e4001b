"""Where a decode step of the hf backend goes, before and after clinqa's own decode loop, side by side.

- `legacy`: the path clinqa used until this benchmark was written (kept here as the baseline): transformers'
  `generate` with a per-row `torch.Generator` logits processor (softmax, sort and multinomial per row per step), a
  per-row max-tokens stopping criterion, transformers' stop-string criterion and a `DynamicCache` grown by
  concatenation.
- `clinqa`: `HFBackend.generate` (vectorised counter-based sampling, vectorised stop checks, pre-sized cache).

For each, the seconds per decode step at batch 1 and batch 64 (prefill excluded: two runs of different lengths,
difference over the extra steps; end-of-sequence disabled so every row decodes every step), their ratio, and a
torch.profiler breakdown of one batch-64 run by component (forward pass, cache writes, sampling, stopping criteria,
stop strings and host reads).

    python benchmarks/hf_step_profile.py                      # tiny random model on CPU: overhead is everything
    python benchmarks/hf_step_profile.py --model random:1b --dtype bfloat16 --rows 1,64,128   # on a GPU
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import tempfile
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile, record_function
from transformers import (DynamicCache, LogitsProcessor, LogitsProcessorList, StoppingCriteria,
                          StoppingCriteriaList)
from transformers.cache_utils import DynamicLayer
from transformers.generation.stopping_criteria import StopStringCriteria

from clinqa.models import load_model
from clinqa.models.base import GenRequest
from clinqa.models.hf import HFBackend
from clinqa.models.hf_cache import PresizedLayer
from clinqa.models.hf_sampling import BatchSampler
from clinqa.models.hf_stopping import RowStops
from clinqa.models.random_model import build_random_model

PROMPT = "Question: a 45-year-old man presents with chest pain radiating to the left arm. What is the next step?"
STOP = ("\n\nQuestion:",)


class LegacyRowSampler(LogitsProcessor):
    """The former per-row sampler: one torch.Generator per row, a softmax/sort/multinomial per row per step."""

    def __init__(self, temperatures, seeds, device):
        self.temperatures = temperatures
        self.generators = [torch.Generator(device=device).manual_seed(s) for s in seeds]

    def __call__(self, input_ids, scores):
        out = scores.clone()
        for i, (t, g) in enumerate(zip(self.temperatures, self.generators)):
            probs = torch.softmax(scores[i].float() / t, -1)
            token = torch.multinomial(probs, 1, generator=g)
            out[i] = float("-inf")
            out[i, token] = 0.0
        return out


class LegacyRowMaxTokens(StoppingCriteria):
    def __init__(self, prompt_len, limits, device):
        self.prompt_len, self.limits = prompt_len, torch.tensor(limits, device=device)

    def __call__(self, input_ids, scores, **kwargs):
        return (input_ids.shape[1] - self.prompt_len) >= self.limits


@torch.no_grad()
def legacy_generate(backend: HFBackend, req: GenRequest) -> None:
    """One request of n sampled rows through transformers' generate, as clinqa did before (eos disabled)."""
    ids = torch.tensor([backend._ids(backend.render(req))], device=backend.device)
    mask = torch.ones_like(ids)
    cache = DynamicCache(config=backend.model.config)
    backend.model(ids[:, :-1], attention_mask=mask[:, :-1], use_cache=True, **backend._forward_kw(cache))
    rows = torch.zeros(req.n, dtype=torch.long, device=backend.device)
    cache.batch_select_indices(rows)
    backend.model.generate(ids[rows], attention_mask=mask[rows], **{backend._cache_kw: cache},
                           max_new_tokens=req.max_tokens,
                           pad_token_id=backend.tok.pad_token_id, do_sample=False, temperature=None, top_p=None,
                           top_k=None, stop_strings=list(req.stop), tokenizer=backend.tok,
                           logits_processor=LogitsProcessorList([LegacyRowSampler([req.temperature] * req.n,
                                                                 [req.seed + k for k in range(req.n)],
                                                                 backend.device)]),
                           stopping_criteria=StoppingCriteriaList([LegacyRowMaxTokens(ids.shape[1],
                                                                   [req.max_tokens] * req.n, backend.device)]))


def clinqa_generate(backend: HFBackend, req: GenRequest) -> None:
    backend.generate([req])


PATHS = {"legacy": legacy_generate, "clinqa": clinqa_generate}


@contextlib.contextmanager
def no_eos(backend: HFBackend):
    """Every row decodes its whole budget (a random model may draw end-of-sequence at any step)."""
    eos_ids, gen_eos = backend._eos_ids, backend.model.generation_config.eos_token_id
    backend._eos_ids = lambda: []
    backend.model.generation_config.eos_token_id = None
    try:
        yield
    finally:
        backend._eos_ids = eos_ids
        backend.model.generation_config.eos_token_id = gen_eos


def _sync(backend) -> None:
    if backend.device.startswith("cuda"):
        torch.cuda.synchronize()


def step_seconds(backend: HFBackend, path: str, rows: int, steps=(8, 40), repeats: int = 3) -> float:
    """Seconds per decode step of `rows` sampled rows of one prompt, prefill excluded (best of `repeats`)."""
    run = PATHS[path]
    best = []
    with no_eos(backend):
        run(backend, GenRequest(PROMPT, n=rows, temperature=1.0, max_tokens=2, seed=0, stop=STOP))    # warm-up
        for m in steps:
            times = []
            for _ in range(repeats):
                _sync(backend)
                t0 = time.perf_counter()
                run(backend, GenRequest(PROMPT, n=rows, temperature=1.0, max_tokens=m, seed=0, stop=STOP))
                _sync(backend)
                times.append(time.perf_counter() - t0)
            best.append(min(times))
    return (best[1] - best[0]) / (steps[1] - steps[0])


@contextlib.contextmanager
def labelled(targets: list[tuple[object, str, str]]):
    """Wrap each (owner, method name, label) in a torch.profiler record_function."""
    saved = []
    for owner, name, label in targets:
        orig = getattr(owner, name)

        @functools.wraps(orig)          # transformers inspects a logits processor's signature
        def wrapped(*a, _orig=orig, _label=label, **kw):
            with record_function(_label):
                return _orig(*a, **kw)
        saved.append((owner, name, orig))
        setattr(owner, name, wrapped)
    try:
        yield
    finally:
        for owner, name, orig in reversed(saved):
            setattr(owner, name, orig)


def breakdown(backend: HFBackend, path: str, rows: int, steps: int = 32) -> dict[str, float]:
    """Milliseconds per step in each component of one `rows`-row decode of `steps` steps (profiled)."""
    targets = [(backend.model, "forward", "forward pass"), (DynamicLayer, "update", "cache writes"),
               (PresizedLayer, "update", "cache writes"), (LegacyRowSampler, "__call__", "sampling"),
               (BatchSampler, "__call__", "sampling"), (LegacyRowMaxTokens, "__call__", "stopping criteria"),
               (RowStops, "after_step", "stopping criteria"), (StopStringCriteria, "__call__", "stop strings + reads"),
               (RowStops, "sync", "stop strings + reads")]
    req = GenRequest(PROMPT, n=rows, temperature=1.0, max_tokens=steps, seed=0, stop=STOP)
    with no_eos(backend):
        PATHS[path](backend, req)
        with labelled(targets), profile(activities=[ProfilerActivity.CPU]) as prof:
            t0 = time.perf_counter()
            PATHS[path](backend, req)
            total = time.perf_counter() - t0
    spent = {}
    for ev in prof.key_averages():
        if ev.key in {t[2] for t in targets}:
            spent[ev.key] = ev.cpu_time_total / 1e3 / steps
    spent["forward pass"] = spent.get("forward pass", 0) - spent.get("cache writes", 0)
    spent["total (wall, profiled)"] = total * 1e3 / steps
    spent["other (generate loop, masks, ...)"] = spent["total (wall, profiled)"] - sum(
        v for k, v in spent.items() if not k.startswith("total"))
    return spent


def load(model: str, dtype: str) -> HFBackend:
    if model.startswith("random:"):
        size = model.split(":", 1)[1]
        model = str(build_random_model(Path(tempfile.gettempdir()) / f"clinqa-random-{size}", size))
    return load_model(model, dtype=dtype)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="random:tiny")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--rows", default="1,64", help="batch sizes (rows) to time")
    ap.add_argument("--paths", default="legacy,clinqa")
    ap.add_argument("--profile-rows", type=int, default=64)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's own)")
    ap.add_argument("--quick", action="store_true", help="short runs, one repeat (a smoke test, not a measurement)")
    ap.add_argument("--skip-timing", action="store_true", help="only the profiled breakdown")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    backend = load(args.model, args.dtype)
    rows = [int(r) for r in args.rows.split(",")]
    paths = args.paths.split(",")
    print(f"model {args.model}, {args.dtype}, device {backend.device}, torch threads {torch.get_num_threads()}")
    print(f"{'path':8s} " + " ".join(f"{'ms/step @' + str(r):>13s}" for r in rows) + "   ratio")
    per = {}
    for path in ([] if args.skip_timing else paths):
        timing = dict(steps=(4, 12), repeats=1) if args.quick else {}
        per[path] = [step_seconds(backend, path, r, **timing) * 1e3 for r in rows]
        print(f"{path:8s} " + " ".join(f"{t:13.2f}" for t in per[path])
              + f"   RATIO batch {rows[-1]}/batch {rows[0]} per step {per[path][-1] / per[path][0]:.2f}x", flush=True)
    if len(per) == 2:
        print(f"RATIO {paths[0]}/{paths[1]} per step at batch {rows[-1]}: {per[paths[0]][-1] / per[paths[1]][-1]:.2f}x")
    print(f"\nbreakdown of a batch-{args.profile_rows} decode step (ms/step, torch.profiler, CPU time):")
    parts = {path: breakdown(backend, path, args.profile_rows, steps=8 if args.quick else 32) for path in paths}
    keys = [k for k in parts[paths[0]]] + [k for p in paths[1:] for k in parts[p] if k not in parts[paths[0]]]
    print(f"{'component':36s} " + " ".join(f"{p:>9s}" for p in paths))
    for k in keys:
        print(f"{k:36s} " + " ".join(f"{parts[p].get(k, 0.0):9.2f}" for p in paths))


if __name__ == "__main__":
    main()
