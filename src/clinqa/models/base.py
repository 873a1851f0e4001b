"""The single model-backend interface every backend (hf, openai, and later llamacpp, vllm) implements.

A request is a prompt plus an optional assistant-turn `prefix` (the text the answer must start with, e.g.
"Explanation: Let's solve this step-by-step"). With a chat template the backend renders the prompt as a user turn
and appends the prefix after the generation prompt; without one the prefix is appended to the raw prompt.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Iterator, Sequence


@dataclass(frozen=True)
class GenRequest:
    prompt: str
    prefix: str = ""
    n: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 256
    stop: tuple[str, ...] = ()
    seed: int | None = None


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
    """A model. `generate` is batch-oriented: one result (with n texts) per request."""

    name: str = "backend"
    supports_loglikelihood: bool = False

    @abstractmethod
    def generate(self, requests: Sequence[GenRequest]) -> list[GenResult]: ...

    def loglikelihood(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """Sum of log p(continuation | context) for each (context, continuation) pair."""
        raise NotImplementedError(f"backend {self.name!r} cannot score log-likelihoods; use a generative strategy")

    def stream(self, request: GenRequest) -> Iterator[str]:
        """Yield the answer in pieces as they are produced; backends without streaming yield it whole."""
        yield self.generate([request])[0].texts[0]

    def describe(self) -> dict:
        return {"backend": type(self).__name__, "name": self.name}
