"""vLLM backend for GPUs (optional: `pip install vllm`): offline engine with automatic prefix caching.

All requests of a call go to the engine in one `generate`, so vLLM batches them. A request for n samples is sent as
n sub-requests with seeds seed+i: identical prompts hit the prefix cache (one prefill), and no two samples share a
random stream (a single seed on an n>1 request once made every vLLM sample identical and silently collapsed SC).
`tensor_parallel_size` splits a model over the GPUs of a node; `data_parallel_size` (and a Ray cluster) scales out,
see scripts/vllm_multinode.sh. Log-likelihoods come from `prompt_logprobs`.
"""

from __future__ import annotations

import time
from typing import Sequence

from clinqa.models.base import Backend, GenRequest, GenResult, truncate_at_stop
from clinqa.models.chat import render_with_template


class VLLMBackend(Backend):
    supports_loglikelihood = True

    def __init__(self, model: str, tensor_parallel_size: int = 1, gpu_memory_utilization: float = 0.85,
                 max_model_len: int | None = 8192, chat_template: bool | None = None, **engine_kw):
        from vllm import LLM
        self.llm = LLM(model=model, tensor_parallel_size=tensor_parallel_size, enable_prefix_caching=True,
                       gpu_memory_utilization=gpu_memory_utilization, max_model_len=max_model_len, **engine_kw)
        self.tok = self.llm.get_tokenizer()
        self.name = f"vllm:{model}"
        has = bool(getattr(self.tok, "chat_template", None))
        self.chat = has if chat_template is None else (chat_template and has)

    def render(self, req: GenRequest) -> str:
        if not self.chat:
            return req.prompt + req.prefix
        return render_with_template(self.tok.chat_template, req, self.tok.bos_token or "", self.tok.eos_token or "")

    def generate(self, requests: Sequence[GenRequest]) -> list[GenResult]:
        from vllm import SamplingParams
        t0 = time.perf_counter()
        prompts, params, owner = [], [], []
        for j, req in enumerate(requests):
            text = self.render(req)
            n = req.n if req.temperature > 0 else 1
            for i in range(n):
                prompts.append(text)
                params.append(SamplingParams(n=1, temperature=req.temperature, top_p=req.top_p, max_tokens=req.max_tokens,
                                             stop=list(req.stop) or None, seed=None if req.seed is None else req.seed + i))
                owner.append(j)
        outs = self.llm.generate(prompts, params, use_tqdm=False)
        results = [GenResult([], [], 0, 0.0, rendered_prompt=self.render(r)) for r in requests]
        for j, o in zip(owner, outs):
            c = o.outputs[0]
            results[j].texts.append(truncate_at_stop(c.text, requests[j].stop))
            results[j].completion_tokens.append(len(c.token_ids))
            results[j].prompt_tokens = len(o.prompt_token_ids)
        for req, res in zip(requests, results):
            if len(res.texts) < req.n:
                res.texts, res.completion_tokens = res.texts * req.n, res.completion_tokens * req.n
            res.seconds = (time.perf_counter() - t0) / max(1, len(requests))
        return results

    def loglikelihood(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt
        enc = []
        for ctx, cont in pairs:
            n_sp = len(ctx) - len(ctx.rstrip())
            if n_sp:
                ctx, cont = ctx[:-n_sp], ctx[-n_sp:] + cont
            whole, c = self.tok(ctx + cont).input_ids, self.tok(ctx).input_ids
            enc.append((whole, len(c)))
        outs = self.llm.generate([TokensPrompt(prompt_token_ids=w) for w, _ in enc],
                                 SamplingParams(max_tokens=1, prompt_logprobs=0), use_tqdm=False)
        return [float(sum(o.prompt_logprobs[i][w[i]].logprob for i in range(n_ctx, len(w))))
                for o, (w, n_ctx) in zip(outs, enc)]

    def describe(self) -> dict:
        return {"backend": "vllm", "name": self.name, "chat_template": self.chat}
