"""The single model-backend interface every backend (hf, vllm, openai, llamacpp) implements, and the contract the
base class owns for all of them.

A request is a conversation: `messages`, a tuple of (role, content) turns (system / user / assistant), or, as a
shorthand, one user turn `prompt`; plus an optional assistant prefill `prefix` (the text the answer must start with,
e.g. "Explanation: Let's solve this step-by-step"). With a chat template the backend renders the conversation
through its engine's own `apply_chat_template` and appends the prefix after the generation prompt; chat endpoints
receive the messages themselves. Without a template a single prompt is sent as it is, and a conversation as a plain
"role: content" transcript ending in "assistant:" (`plain_transcript`).

The base class owns, so that no backend can get them wrong on its own:
- chat rendering (`render`, over the backend's `apply_chat_template`);
- n-expansion: a greedy request for n samples is decoded once and copied n times;
- stop strings: every text is cut at the earliest stop string (the stop itself dropped), whatever the engine did;
- capabilities, declared as class attributes and checked before a model loads (`models.resolve.check_capabilities`):
  `supports_loglikelihood`, `supports_batching` (one call with many requests runs them together, so the runner
  should keep many questions in flight), `thread_safe` (may be called from several threads at once),
  `supports_json_schema` (decodes a request's `json_schema` as a constraint: llama.cpp's grammar, vLLM's structured
  outputs, the openai backend's `response_format` in chat mode).
A backend implements `_generate` (and `_loglikelihood` if it can score): both take and return whole batches.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Iterator, Sequence


@dataclass(frozen=True)
class GenRequest:
    prompt: str = ""              # shorthand for one user turn (used when `messages` is empty)
    prefix: str = ""
    n: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 256
    stop: tuple[str, ...] = ()
    seed: int | None = None       # sample i of the request draws with its own stream derived from seed + i
    json_schema: str | None = None   # JSON text of a schema the reply must follow (backends with supports_json_schema)
    messages: tuple[tuple[str, str], ...] = ()   # the conversation as (role, content) turns; () means [user: prompt]

    @classmethod
    def chat(cls, messages: Sequence[dict], **kw) -> "GenRequest":
        """A request for a whole conversation given as [{"role": ..., "content": ...}, ...]."""
        return cls(messages=tuple((str(m["role"]), str(m["content"])) for m in messages), **kw)

    def conversation(self) -> list[dict]:
        """The turns sent to the model, as chat messages."""
        if self.messages:
            return [{"role": r, "content": c} for r, c in self.messages]
        return [{"role": "user", "content": self.prompt}]


def plain_transcript(messages: Sequence[dict]) -> str:
    """A conversation for a model without a chat template: "role: content" turns, then "assistant:" to answer."""
    return "\n\n".join(f"{m['role']}: {m['content']}" for m in messages) + "\n\nassistant:"


@dataclass
class GenResult:
    texts: list[str]
    completion_tokens: list[int]
    prompt_tokens: int
    seconds: float = 0.0
    rendered_prompt: str = ""
    meta: dict = field(default_factory=dict)


def truncate_at_stop(text: str, stop: Sequence[str]) -> str:
    """Cut `text` at the earliest stop string (the stop string itself is dropped)."""
    cut = len(text)
    for s in stop:
        i = text.find(s)
        if s and i != -1:
            cut = min(cut, i)
    return text[:cut]


class Backend(ABC):
    """A model. `generate` and `loglikelihood` are batch calls: one result per request, in order."""

    name: str = "backend"
    supports_loglikelihood: bool = False
    supports_batching: bool = False
    thread_safe: bool = False
    supports_json_schema: bool = False
    default_concurrency: int = 1       # questions in flight when the user does not say (batching backends: more)
    chat: bool = False                 # prompts are rendered with the model's chat template

    # -- chat rendering --------------------------------------------------------------------------------------------
    def apply_chat_template(self, messages: list[dict]) -> str:
        """The engine's own chat-template rendering of `messages` with the generation prompt added."""
        raise NotImplementedError(f"backend {self.name!r} has no chat template")

    def render(self, req: GenRequest) -> str:
        """The exact text the engine is given for `req` (chat template, transcript or raw prompt, then the prefix)."""
        if self.chat:
            return self.apply_chat_template(req.conversation()) + req.prefix
        return (plain_transcript(req.conversation()) if req.messages else req.prompt) + req.prefix

    # -- generation ------------------------------------------------------------------------------------------------
    def generate(self, requests: Sequence[GenRequest]) -> list[GenResult]:
        """One result per request, each with `n` texts cut at the request's stop strings."""
        if not self.supports_json_schema and any(r.json_schema for r in requests):
            raise NotImplementedError(f"backend {self.name!r} cannot constrain a reply to a JSON schema")
        once = [replace(r, n=1) if r.temperature == 0 and r.n > 1 else r for r in requests]
        results = self._generate(once) if once else []
        for req, res in zip(requests, results):
            res.texts = [truncate_at_stop(t, req.stop) for t in res.texts]
            if len(res.texts) == 1 and req.n > 1:
                res.texts, res.completion_tokens = res.texts * req.n, res.completion_tokens * req.n
        return results

    @abstractmethod
    def _generate(self, requests: Sequence[GenRequest]) -> list[GenResult]:
        """Decode a batch. Greedy requests arrive with n=1; texts may still hold stop strings (the base cuts them)."""

    # -- scoring ---------------------------------------------------------------------------------------------------
    def loglikelihood(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """Sum of log p(continuation | context) for each (context, continuation) pair."""
        if not self.supports_loglikelihood:
            raise NotImplementedError(f"backend {self.name!r} cannot score log-likelihoods; use a generative strategy")
        return self._loglikelihood(pairs) if pairs else []

    def _loglikelihood(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        raise NotImplementedError

    def stream(self, request: GenRequest) -> Iterator[str]:
        """Yield the answer in pieces as they are produced; backends without streaming yield it whole."""
        yield self.generate([request])[0].texts[0]

    def describe(self) -> dict:
        return {"backend": type(self).__name__, "name": self.name}


def stream_until_stop(pieces: Iterable[str], stop: Sequence[str]) -> Iterator[str]:
    """Pass streamed pieces through until the text so far holds a stop string; the part before it ends the stream."""
    seen = ""
    for piece in pieces:
        cut = truncate_at_stop(seen + piece, stop)
        if len(cut) < len(seen) + len(piece):
            if cut[len(seen):]:
                yield cut[len(seen):]
            return
        seen += piece
        if piece:
            yield piece


def encode_pair(tokenize: Callable[[str], list[int]], context: str, continuation: str) -> tuple[list[int], list[int]]:
    """lm-evaluation-harness's `_encode_pair`: `split_pair`, then the whole sequence is tokenised and split where the
    context's own tokens end (so a token merged across the boundary counts as the context's)."""
    context, continuation = split_pair(context, continuation)
    whole = list(tokenize(context + continuation))
    n_ctx = len(tokenize(context))
    return whole[:n_ctx], whole[n_ctx:]


def split_pair(context: str, continuation: str) -> tuple[str, str]:
    """lm-evaluation-harness's rule before tokenising a (context, continuation) pair: trailing spaces of the context
    move to the continuation."""
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces:
        return context[:-n_spaces], context[-n_spaces:] + continuation
    return context, continuation
