"""OpenAI-compatible HTTP backend (vLLM, SGLang, llama.cpp server, Ollama, hosted APIs) through the official `openai`
SDK, which retries 429/5xx with Retry-After and applies timeouts.

- `mode="completions"`: the raw prompt + prefix go to /v1/completions.
- `mode="chat"`: /v1/chat/completions; the server renders the chat template, so `render` shows the messages sent.
  The assistant-turn prefix (e.g. the CoT lead "Explanation: Let's solve ...") is pre-filled as the start of the
  assistant message where the server supports it (vLLM's `continue_final_message`); where it does not, the prefix is
  appended to the user turn and `describe()` says so. `prefill="auto"` tries pre-filling once and falls back; "on"
  requires it; "off" never tries.
- Concurrency: a batch of requests (and the samples of one request that the server will not take as `n`) runs on
  threads, with at most `max_concurrency` HTTP calls in flight at once for this backend, whichever thread makes them.
- n samples go in one request with `n`; a server that refuses `n` or returns fewer choices is topped up with
  concurrent single requests with distinct seeds. (Greedy requests arrive with n=1: the base class copies them.)
- Per-sample token counts are exact where the server returns per-token logprobs (asked for) or n=1; otherwise they are
  the request's total divided by n, and `GenResult.meta["token_counts"]` says "average".
- A request's `json_schema` (chat mode) is sent as OpenAI structured outputs, `response_format` of type json_schema
  (vLLM's and llama.cpp's servers take it too); a server that refuses it is asked again without it, once, and the
  reply is parsed as free text from then on (`describe()["json_schema"]` says which).
- Log-likelihoods, as lm-evaluation-harness's `local-completions` model: context + continuation go to /v1/completions
  with `echo=True, logprobs=1, max_tokens=1, temperature=0`, whatever the mode (scoring never uses a chat template,
  as the hf backend). The server tokenises the whole text; the continuation's tokens are found from the returned
  `text_offset`s: from the token holding the continuation's first character up to the end of the prompt (the one
  generated token is left out). A server that cannot echo prompt log-probabilities (chat-only servers, hosted models
  that refuse `echo`) gets one line naming it (`LoglikelihoodUnsupported`, a ValueError), once per backend; so does
  a server that cannot be reached (`ServerUnreachable`).
"""

from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator, Sequence, TypeVar

import openai

from clinqa.models.base import Backend, GenRequest, GenResult, plain_transcript, split_pair, stream_until_stop

REFUSED = (openai.BadRequestError, openai.UnprocessableEntityError)
T, R = TypeVar("T"), TypeVar("R")


class ServerUnreachable(ValueError):
    """No connection to the server (after the SDK's retries): one line naming it."""


class LoglikelihoodUnsupported(ValueError):
    """The server cannot return prompt log-probabilities through /v1/completions (one line, naming the server)."""


class OpenAIBackend(Backend):
    supports_loglikelihood = True       # through /v1/completions echo; a server that refuses says so in one line
    supports_batching = True            # a batch runs concurrently, up to max_concurrency HTTP calls
    thread_safe = True
    default_concurrency = 8

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None, mode: str = "chat",
                 max_concurrency: int = 8, retries: int = 4, timeout: float = 600.0, prefill: str = "auto"):
        if mode not in ("chat", "completions"):
            raise ValueError(f"openai backend mode {mode!r}: must be chat or completions")
        if prefill not in ("auto", "on", "off"):
            raise ValueError(f"openai backend prefill {prefill!r}: must be auto, on or off")
        if max_concurrency < 1:
            raise ValueError(f"openai backend max_concurrency {max_concurrency}: must be at least 1")
        self.model, self.mode, self.prefill = model, mode, prefill
        self.chat = mode == "chat"
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1").rstrip("/")
        self.client = openai.OpenAI(base_url=self.base_url, api_key=api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY",
                                    max_retries=retries, timeout=timeout)
        self.max_concurrency = max_concurrency
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self.name = f"openai:{model}@{self.base_url}"
        self.n_supported, self.logprobs_supported = True, True
        self.prefill_works: bool | None = None if prefill == "auto" else prefill == "on"
        self.supports_json_schema = self.chat        # OpenAI structured outputs live on chat completions
        self.json_schema_works: bool | None = None
        self.loglik_refused: str | None = None

    # -- what is sent ----------------------------------------------------------------------------------------------
    def _prefilled(self, req: GenRequest) -> bool:
        return self.chat and bool(req.prefix) and self.prefill_works is not False

    def _messages(self, req: GenRequest) -> list[dict]:
        """The request's conversation; its prefix as an assistant prefill, or (where the server cannot continue an
        assistant turn) appended to the last user turn."""
        turns = req.conversation()
        if self._prefilled(req):
            return turns + [{"role": "assistant", "content": req.prefix}]
        if req.prefix:
            turns[-1] = {**turns[-1], "content": turns[-1]["content"] + req.prefix}
        return turns

    def render(self, req: GenRequest) -> str:
        """The text sent: completions, the raw prompt + prefix; chat, the messages (the server applies its template)."""
        if not self.chat:
            return (plain_transcript(req.conversation()) if req.messages else req.prompt) + req.prefix
        return "\n".join(f"[{m['role']}{' (continued)' if m['role'] == 'assistant' else ''}]\n{m['content']}"
                         for m in self._messages(req))

    # -- one HTTP call ---------------------------------------------------------------------------------------------
    def _params(self, req: GenRequest, n: int, seed: int | None, stream: bool = False) -> dict:
        p = {"model": self.model, "n": n, "temperature": req.temperature, "top_p": req.top_p,
             "max_tokens": req.max_tokens, "stream": stream}
        if req.stop:
            p["stop"] = list(req.stop)[:4]
        if seed is not None:
            p["seed"] = seed
        if not self.chat:
            p["prompt"] = self.render(req)
            if self.logprobs_supported and not stream:
                p["logprobs"] = 0
        else:
            p["messages"] = self._messages(req)
            if self._prefilled(req):
                p["extra_body"] = {"continue_final_message": True, "add_generation_prompt": False}
            if self.logprobs_supported and not stream:
                p["logprobs"], p["top_logprobs"] = True, 0
            if req.json_schema and self.json_schema_works is not False:
                p["response_format"] = {"type": "json_schema", "json_schema": {
                    "name": "reply", "schema": json.loads(req.json_schema), "strict": True}}
        return p

    def _call(self, api, params: dict):
        """One HTTP request, holding one of the `max_concurrency` slots while it is made."""
        with self._slots:
            try:
                return api.create(**params)
            except openai.APIConnectionError as e:      # timeouts included
                cause = " ".join(str(e.__cause__ or e).split())[:160]
                raise ServerUnreachable(f"server {self.base_url} (model {self.model}) is not reachable: {cause}") \
                    from None

    def _create(self, params: dict):
        api = self.client.chat.completions if self.chat else self.client.completions
        try:
            return self._call(api, params)
        except REFUSED:
            # drop one optional feature at a time; disable only the one whose removal the server accepts
            if "response_format" in params and self.json_schema_works is None:
                try:
                    resp = self._call(api, {k: v for k, v in params.items() if k != "response_format"})
                except REFUSED:
                    pass
                else:
                    self.json_schema_works = False
                    return resp
            if "extra_body" in params and self.prefill_works is None:
                try:
                    resp = self._call(api, self._rebuild(params))
                except REFUSED:
                    pass
                else:
                    self.prefill_works = False      # the server cannot continue an assistant turn: say so, go on
                    return resp
            if "logprobs" in params and self.logprobs_supported:
                try:
                    resp = self._call(api, {k: v for k, v in params.items() if k not in ("logprobs", "top_logprobs")})
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

    def _map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """fn over items on threads (results in order); the HTTP slots, not the threads, bound the server's load."""
        if len(items) <= 1:
            return [fn(x) for x in items]
        with ThreadPoolExecutor(max_workers=min(len(items), self.max_concurrency)) as pool:
            return list(pool.map(fn, items))

    def _texts_and_tokens(self, resp) -> tuple[list[str], list[int | None]]:
        texts, tokens = [], []
        for c in resp.choices:
            lp = getattr(c, "logprobs", None)
            if not self.chat:
                texts.append(c.text or "")
                tokens.append(len(lp.tokens) if lp is not None and lp.tokens is not None else None)
            else:
                texts.append((c.message.content if c.message else None) or "")
                tokens.append(len(lp.content) if lp is not None and lp.content is not None else None)
        return texts, tokens

    # -- generation ------------------------------------------------------------------------------------------------
    def _generate(self, requests: Sequence[GenRequest]) -> list[GenResult]:
        return self._map(self._generate_one, requests)

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
            calls += self._map(lambda s: self._create(self._params(req, 1, s)), seeds)
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
        if self.chat and self.prefill_works is None and req.prefix:
            self.prefill_works = True               # a pre-filled request went through
        texts, counts = texts[:req.n], counts[:req.n]
        exact = all(c is not None for c in counts)
        per = [int(c) for c in counts] if exact else [total // max(1, len(texts))] * len(texts)
        return GenResult(texts, per, prompt_tokens, time.perf_counter() - t0, rendered_prompt=self.render(req),
                         meta={"token_counts": "exact" if exact else "average", "prefill": self.prefill_mode()})

    def stream(self, request: GenRequest) -> Iterator[str]:
        """The answer as the server streams it (stop strings applied to the text seen so far)."""
        def pieces() -> Iterator[str]:
            for chunk in self._create(self._params(request, 1, request.seed, stream=True)):
                if chunk.choices:
                    c = chunk.choices[0]
                    yield ((c.delta.content if c.delta else None) if self.chat else c.text) or ""
        yield from stream_until_stop(pieces(), request.stop)

    # -- scoring ---------------------------------------------------------------------------------------------------
    def _loglikelihood(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        return self._map(lambda p: self._score(*p), pairs)

    def _refuse(self, why: str) -> LoglikelihoodUnsupported:
        self.loglik_refused = self.loglik_refused or (
            f"server {self.base_url} (model {self.model}) cannot score log-likelihoods: /v1/completions with "
            f"echo=True and logprobs {why}; use a generative strategy, or a server that echoes prompt log-probabilities "
            "(vLLM, llama.cpp server)")
        return LoglikelihoodUnsupported(self.loglik_refused)

    def _score(self, context: str, continuation: str) -> float:
        if self.loglik_refused:
            raise LoglikelihoodUnsupported(self.loglik_refused)
        context, continuation = split_pair(context, continuation)
        if not continuation:
            return 0.0
        text = context + continuation
        params = {"model": self.model, "prompt": text, "max_tokens": 1, "temperature": 0, "logprobs": 1, "echo": True}
        try:
            resp = self._call(self.client.completions, params)
        except openai.APIStatusError as e:
            if e.status_code in (400, 404, 405, 422, 500, 501):
                reason = " ".join(str(getattr(e, "message", "") or e).split())[:160]
                raise self._refuse(f"refused (HTTP {e.status_code}: {reason})") from None
            raise
        lp = resp.choices[0].logprobs if resp.choices else None
        offsets = getattr(lp, "text_offset", None) if lp is not None else None
        values = getattr(lp, "token_logprobs", None) if lp is not None else None
        if not offsets or not values or len(offsets) != len(values):
            raise self._refuse("returned no per-token text offsets and log-probabilities")
        prompt = [i for i, o in enumerate(offsets) if o < len(text)]          # the echoed prompt, not the new token
        if not prompt or offsets[prompt[0]] != 0:
            raise self._refuse("did not echo the prompt's tokens")
        # the token holding the continuation's first character starts the span (it may also hold the end of the
        # context where the server's tokeniser merges across the boundary); the span runs to the end of the prompt
        start = max(i for i in prompt if offsets[i] <= len(context))
        span = [values[i] for i in prompt if i >= start]
        if any(v is None for v in span):
            raise ValueError(f"server {self.base_url}: no log-probability for the first token of the text; a "
                             "log-likelihood needs a non-empty context")
        return float(sum(span))

    # -- description -----------------------------------------------------------------------------------------------
    def prefill_mode(self) -> str:
        if not self.chat:
            return "raw prompt + prefix (completions)"
        return {True: "assistant prefill (continue_final_message)", False: "prefix appended to the user turn (server "
                "cannot pre-fill)", None: "assistant prefill, not yet tried"}[self.prefill_works]

    def describe(self) -> dict:
        schema = ("not in completions mode" if not self.chat else
                  "refused by the server: free text" if self.json_schema_works is False else "response_format")
        return {"backend": "openai", "name": self.name, "mode": self.mode, "prefill": self.prefill_mode(),
                "json_schema": schema}

