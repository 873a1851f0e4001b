"""OpenAI-compatible HTTP backend (vLLM, SGLang, llama.cpp server, Ollama, hosted APIs) through the official `openai`
SDK, which retries 429/5xx with Retry-After and applies timeouts.

- `mode="completions"`: the raw prompt + prefix go to /v1/completions.
- `mode="chat"`: /v1/chat/completions. The assistant-turn prefix (e.g. the CoT lead "Explanation: Let's solve ...")
  is pre-filled as the start of the assistant message where the server supports it (vLLM's
  `continue_final_message`); where it does not, the prefix is appended to the user turn and `describe()` says so.
  `prefill="auto"` tries pre-filling once and falls back; "on" requires it; "off" never tries.
- n samples go in one request with `n`; a server that refuses `n` or returns fewer choices is topped up with
  concurrent single requests with distinct seeds.
- Per-sample token counts are exact where the server returns per-token logprobs (asked for) or n=1; otherwise they are
  the request's total divided by n, and `GenResult.meta["token_counts"]` says "average".
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator, Sequence

import openai

from clinqa.models.base import Backend, GenRequest, GenResult, truncate_at_stop

REFUSED = (openai.BadRequestError, openai.UnprocessableEntityError)


class OpenAIBackend(Backend):
    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None, mode: str = "chat",
                 max_concurrency: int = 8, retries: int = 4, timeout: float = 600.0, prefill: str = "auto"):
        if mode not in ("chat", "completions"):
            raise ValueError(f"openai backend mode {mode!r}: must be chat or completions")
        if prefill not in ("auto", "on", "off"):
            raise ValueError(f"openai backend prefill {prefill!r}: must be auto, on or off")
        self.model, self.mode, self.prefill = model, mode, prefill
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1").rstrip("/")
        self.client = openai.OpenAI(base_url=self.base_url, api_key=api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY",
                                    max_retries=retries, timeout=timeout)
        self.pool = ThreadPoolExecutor(max_workers=max_concurrency)
        self.name = f"openai:{model}@{self.base_url}"
        self.n_supported, self.logprobs_supported = True, True
        self.prefill_works: bool | None = None if prefill == "auto" else prefill == "on"

    # -- one HTTP call ---------------------------------------------------------------------------------------------
    def _params(self, req: GenRequest, n: int, seed: int | None, stream: bool = False) -> dict:
        p = {"model": self.model, "n": n, "temperature": req.temperature, "top_p": req.top_p,
             "max_tokens": req.max_tokens, "stream": stream}
        if req.stop:
            p["stop"] = list(req.stop)[:4]
        if seed is not None:
            p["seed"] = seed
        if self.mode == "completions":
            p["prompt"] = req.prompt + req.prefix
            if self.logprobs_supported and not stream:
                p["logprobs"] = 0
        else:
            if req.prefix and self.prefill_works is not False:
                p["messages"] = [{"role": "user", "content": req.prompt}, {"role": "assistant", "content": req.prefix}]
                p["extra_body"] = {"continue_final_message": True, "add_generation_prompt": False}
            else:
                p["messages"] = [{"role": "user", "content": req.prompt + req.prefix}]
            if self.logprobs_supported and not stream:
                p["logprobs"], p["top_logprobs"] = True, 0
        return p

    def _create(self, params: dict):
        api = self.client.completions if self.mode == "completions" else self.client.chat.completions
        try:
            return api.create(**params)
        except REFUSED:
            # drop one optional feature at a time; disable only the one whose removal the server accepts
            if "extra_body" in params and self.prefill_works is None:
                try:
                    resp = api.create(**self._rebuild(params))
                except REFUSED:
                    pass
                else:
                    self.prefill_works = False      # the server cannot continue an assistant turn: say so, go on
                    return resp
            if "logprobs" in params and self.logprobs_supported:
                try:
                    resp = api.create(**{k: v for k, v in params.items() if k not in ("logprobs", "top_logprobs")})
                except REFUSED:
                    pass
                else:
                    self.logprobs_supported = False
                    return resp
            raise

    @staticmethod
    def _rebuild(params: dict) -> dict:
        user, assistant = params["messages"]
        return {**{k: v for k, v in params.items() if k != "extra_body"},
                "messages": [{"role": "user", "content": user["content"] + assistant["content"]}]}

    def _texts_and_tokens(self, resp) -> tuple[list[str], list[int | None]]:
        texts, tokens = [], []
        for c in resp.choices:
            if self.mode == "completions":
                texts.append(c.text or "")
                lp = getattr(c, "logprobs", None)
                tokens.append(len(lp.tokens) if lp is not None and lp.tokens is not None else None)
            else:
                texts.append((c.message.content if c.message else None) or "")
                lp = getattr(c, "logprobs", None)
                tokens.append(len(lp.content) if lp is not None and lp.content is not None else None)
        return texts, tokens

    # -- requests --------------------------------------------------------------------------------------------------
    def _generate_one(self, req: GenRequest) -> GenResult:
        t0 = time.perf_counter()
        texts: list[str] = []
        counts: list[int | None] = []
        prompt_tokens, total = 0, 0
        calls = []
        if self.n_supported and req.n > 1:
            try:
                calls.append(self._create(self._params(req, req.n, req.seed)))
            except REFUSED:
                self.n_supported = False
                calls.clear()
        missing = req.n - sum(len(c.choices) for c in calls)
        if missing > 0:
            # distinct seeds per sample: one seed for all would make every sample identical
            have = sum(len(c.choices) for c in calls)
            seeds = [None if req.seed is None else req.seed + have + i for i in range(missing)]
            calls += list(self.pool.map(lambda s: self._create(self._params(req, 1, s)), seeds))
        for resp in calls:
            t, k = self._texts_and_tokens(resp)
            usage = resp.usage
            if usage is not None:
                prompt_tokens = usage.prompt_tokens or prompt_tokens
                total += usage.completion_tokens or 0
                if len(t) == 1 and k[0] is None:
                    k = [usage.completion_tokens or 0]
            texts += t
            counts += k
        if self.mode == "chat" and self.prefill_works is None and req.prefix:
            self.prefill_works = True               # a pre-filled request went through
        texts, counts = texts[:req.n], counts[:req.n]
        exact = all(c is not None for c in counts)
        per = [int(c) for c in counts] if exact else [total // max(1, len(texts))] * len(texts)
        texts = [truncate_at_stop(t, req.stop) for t in texts]
        return GenResult(texts, per, prompt_tokens, time.perf_counter() - t0, rendered_prompt=req.prompt + req.prefix,
                         meta={"token_counts": "exact" if exact else "average", "prefill": self.prefill_mode()})

    def generate(self, requests: Sequence[GenRequest]) -> list[GenResult]:
        return [self._generate_one(r) for r in requests]

    def stream(self, request: GenRequest) -> Iterator[str]:
        """The answer as the server streams it (stop strings applied to the text seen so far)."""
        seen = ""
        for chunk in self._create(self._params(request, 1, request.seed, stream=True)):
            if not chunk.choices:
                continue
            c = chunk.choices[0]
            piece = (c.text if self.mode == "completions" else (c.delta.content if c.delta else None)) or ""
            cut = truncate_at_stop(seen + piece, request.stop)
            if len(cut) < len(seen) + len(piece):
                if cut[len(seen):]:
                    yield cut[len(seen):]
                return
            seen += piece
            if piece:
                yield piece

    def prefill_mode(self) -> str:
        if self.mode == "completions":
            return "raw prompt + prefix (completions)"
        return {True: "assistant prefill (continue_final_message)", False: "prefix appended to the user turn (server "
                "cannot pre-fill)", None: "assistant prefill, not yet tried"}[self.prefill_works]

    def describe(self) -> dict:
        return {"backend": "openai", "name": self.name, "mode": self.mode, "prefill": self.prefill_mode()}
