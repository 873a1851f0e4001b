"""A prompt protocol: how a multiple-choice question is turned into prompts and how the answer is read back.

Strategies never format prompts themselves; they ask the run's protocol. `medpalm2` (the default) is the paper's
prompts; `lm-eval` and `simple-evals` reproduce other harnesses exactly, so a user can tell how much of a difference
between two reported numbers is the prompt and how much the model (`clinqa compare` across protocols).
"""

from __future__ import annotations

from typing import Mapping, Sequence

from clinqa.data.records import MCQuestion
from clinqa.extract import extract_answer


class ProtocolError(ValueError):
    """A strategy or setting the protocol does not define (raised before any model loads)."""


class Protocol:
    name = "base"
    strategies: frozenset[str] = frozenset()   # strategies this protocol defines prompts for
    chat_template: bool | None = None         # None: the model's default; False: raw text, as lm-eval by default
    stop: tuple[str, ...] = ()
    answer_max_tokens = 16                    # answer-only generation

    def check(self, strategy: str, k_shot: int | None) -> None:
        """Refuse, before the model loads, a strategy this protocol has no prompt for."""
        if strategy not in self.strategies:
            raise ProtocolError(f"protocol {self.name!r} defines no prompt for strategy {strategy!r}; "
                                f"its strategies: {', '.join(sorted(self.strategies))}")

    def default_k(self, task, reasoning: bool) -> int:
        """Exemplars when --k-shot is not given (`task` is a clinqa.tasks.Task)."""
        return 0

    def answer_prompt(self, q: MCQuestion, exemplars: Sequence[MCQuestion], order=None) -> tuple[str, str]:
        """(prompt, assistant prefix) for an answer-only reply."""
        raise ProtocolError(f"protocol {self.name!r} has no answer-only prompt")

    def reasoning_prompt(self, q: MCQuestion, exemplars: Sequence[MCQuestion], order=None) -> tuple[str, str]:
        """(prompt, assistant prefix) for a reasoning (chain-of-thought) reply."""
        raise ProtocolError(f"protocol {self.name!r} has no chain-of-thought prompt")

    def refine_prompt(self, q: MCQuestion, exemplars: Sequence[MCQuestion], reasonings: Sequence[str]) -> tuple[str, str]:
        """Ensemble Refinement's stage-2 prompt."""
        raise ProtocolError(f"protocol {self.name!r} has no Ensemble Refinement prompt")

    def loglik(self, q: MCQuestion, exemplars: Sequence[MCQuestion]) -> tuple[str, list[str]]:
        """(context, one continuation per option in q.letters) for option scoring."""
        raise ProtocolError(f"protocol {self.name!r} has no log-likelihood format")

    def extract(self, text: str, options: Mapping[str, str]) -> str | None:
        return extract_answer(text, options)
