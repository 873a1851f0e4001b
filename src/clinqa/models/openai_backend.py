"""OpenAI-compatible HTTP backend: vLLM, SGLang, llama.cpp server, Ollama, hosted APIs.

`mode="completions"` (raw prompt + prefix to /v1/completions) or `"chat"` (/v1/chat/completions, the prefix is appended
to the user turn since chat APIs cannot pre-fill the assistant turn). n samples go in one request with `n`; a server
that refuses `n` or returns fewer choices is topped up with concurrent single requests (bounded, retried with backoff).
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

import httpx

from clinqa.models.base import Backend, GenRequest, GenResult, truncate_at_stop


class OpenAIBackend(Backend):
    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None, mode: str = "chat",
                 max_concurrency: int = 8, retries: int = 4, timeout: float = 600.0):
        self.model, self.mode, self.retries = model, mode, retries
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1").rstrip("/")
        key = api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"
        self.client = httpx.Client(base_url=self.base_url, timeout=timeout, headers={"Authorization": f"Bearer {key}"})
        self.pool = ThreadPoolExecutor(max_workers=max_concurrency)
        self.name = f"openai:{model}@{self.base_url}"
        self.n_supported = True

    def _post(self, body: dict) -> dict:
        path = "/completions" if self.mode == "completions" else "/chat/completions"
        delay = 1.0
        for attempt in range(self.retries + 1):
            try:
                r = self.client.post(path, json=body)
                if r.status_code in (429, 500, 502, 503, 504) and attempt < self.retries:
                    raise httpx.HTTPStatusError("retryable", request=r.request, response=r)
                r.raise_for_status()
                return r.json()
            except (httpx.TransportError, httpx.HTTPStatusError):
                if attempt == self.retries:
                    raise
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def _body(self, req: GenRequest, n: int, seed: int | None) -> dict:
        body = {"model": self.model, "n": n, "temperature": req.temperature, "top_p": req.top_p,
                "max_tokens": req.max_tokens}
        if req.stop:
            body["stop"] = list(req.stop)[:4]
        if seed is not None:
            body["seed"] = seed
        if self.mode == "completions":
            body["prompt"] = req.prompt + req.prefix
        else:
            body["messages"] = [{"role": "user", "content": req.prompt + req.prefix}]
        return body

    @staticmethod
    def _choices(resp: dict) -> list[str]:
        return [c.get("text") if "text" in c else (c.get("message") or {}).get("content") or "" for c in resp["choices"]]

    def _generate_one(self, req: GenRequest) -> GenResult:
        t0 = time.perf_counter()
        texts: list[str] = []
        prompt_tokens, completion_tokens = 0, 0
        if self.n_supported and req.n > 1:
            try:
                # one request with n: a server-side seed is per request, so samples must still differ (checked in tests)
                resp = self._post(self._body(req, req.n, req.seed))
                texts = self._choices(resp)
                usage = resp.get("usage") or {}
                prompt_tokens, completion_tokens = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
            except httpx.HTTPStatusError as e:
                if e.response is None or e.response.status_code not in (400, 422):
                    raise
                self.n_supported = False
        missing = req.n - len(texts)
        if missing > 0:
            # distinct seeds per sample: one seed for all would make every sample identical
            seeds = [None if req.seed is None else req.seed + len(texts) + i for i in range(missing)]
            resps = list(self.pool.map(lambda s: self._post(self._body(req, 1, s)), seeds))
            for r in resps:
                texts += self._choices(r)[:1]
                usage = r.get("usage") or {}
                prompt_tokens = usage.get("prompt_tokens", prompt_tokens)
                completion_tokens += usage.get("completion_tokens", 0)
        texts = [truncate_at_stop(t, req.stop) for t in texts[:req.n]]
        per = [completion_tokens // max(1, len(texts))] * len(texts)
        return GenResult(texts, per, prompt_tokens, time.perf_counter() - t0, rendered_prompt=req.prompt + req.prefix)

    def generate(self, requests: Sequence[GenRequest]) -> list[GenResult]:
        return [self._generate_one(r) for r in requests]

    def describe(self) -> dict:
        return {"backend": "openai", "name": self.name, "mode": self.mode}
