"""The `simple-evals` protocol: the zero-shot multiple-choice format of OpenAI's simple-evals (also what inspect_evals'
chain-of-thought multiple choice asks), with its own answer reading, so numbers compare with those harnesses.

Reasoning strategies (cot, sc, shuffle) use simple-evals' QUERY_TEMPLATE_MULTICHOICE ("Think step by step before
answering", options as "A) ..."); answer-only (fewshot with k=0) uses inspect_ai's single-answer template. The answer
is read with simple-evals' pattern `(?i)Answer[ \\t]*:[ \\t]*\\$?([A-D])\\$?` (first match; letters widened to the
question's own), not clinqa's extractor: that is part of the protocol.
"""

from __future__ import annotations

import re

from clinqa.prompts.protocol import Protocol, ProtocolError

COT_TEMPLATE = ("Answer the following multiple choice question. The last line of your response should be of the "
                "following format: 'Answer: $LETTER' (without quotes) where LETTER is one of {letters}. Think step by "
                "step before answering.\n\n{question}\n\n{choices}")
SINGLE_TEMPLATE = ("Answer the following multiple choice question. The entire content of your response should be of "
                   "the following format: 'ANSWER: $LETTER' (without quotes) where LETTER is one of {letters}.\n\n"
                   "{question}\n\n{choices}")


def _fill(template: str, q, order=None) -> str:
    order = list(order or q.letters)
    shown = [chr(65 + i) for i in range(len(order))]
    question = f"{q.context}\n\n{q.question}" if q.context else q.question
    choices = "\n".join(f"{d}) {q.options[o]}" for d, o in zip(shown, order))
    return template.format(letters="".join(shown) if len(shown) < 5 else ",".join(shown), question=question,
                           choices=choices)


class SimpleEvalsProtocol(Protocol):
    name = "simple-evals"
    strategies = frozenset({"fewshot", "cot", "sc", "shuffle"})

    def check(self, strategy, k_shot):
        super().check(strategy, k_shot)
        if k_shot:
            raise ProtocolError("the simple-evals protocol is zero-shot; drop --k-shot")

    def answer_prompt(self, q, exemplars, order=None):
        return _fill(SINGLE_TEMPLATE, q, order), ""

    def reasoning_prompt(self, q, exemplars, order=None):
        return _fill(COT_TEMPLATE, q, order), ""

    def extract(self, text, options):
        letters = "".join(options)
        m = re.search(rf"(?i)Answer[ \t]*:[ \t]*\$?([{letters}])\$?", text or "")
        return m.group(1) if m and m.group(1).isupper() else None   # simple-evals compares case-sensitively
