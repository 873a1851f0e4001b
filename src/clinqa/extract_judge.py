"""An LLM judge as a fallback for outputs the rules in `clinqa.extract` leave unread (as OpenCompass does), off by
default and reported separately (`benchmarks/extraction.py --judge MODEL`).

Only a text the rules read as "no answer" goes to the judge; the judge sees the options and the response (not the
question: it is asked to read, not to answer) and must reply with one letter or "None". A reply that is not exactly
one valid letter is "no answer" as well, so the judge can add readings but never garble one the rules made. A letter
the judge names is kept only when the response's closing part supports it: that letter stands there on its own, or a
word of that option's text that no other option has is there ("ultrasound" for "Compression ultrasonography of the
legs"); a judge that answers the question itself, or reads an answer into a reply cut off mid-reasoning, is not
believed.
"""

from __future__ import annotations

import re
from typing import Mapping, Sequence

from clinqa.extract import extract_answer
from clinqa.extract_text import content_words
from clinqa.models.base import Backend, GenRequest

JUDGE_PROMPT = """You are checking which option a response to a multiple-choice question chose as its final answer.
Do not solve the question yourself. Read only what the response says.

Options:
{options}

Response:
\"\"\"
{text}
\"\"\"

If the response clearly states or asserts exactly one of the options as its final answer, reply with that option's
letter only. If it gives no answer, hedges between options, contradicts itself, or its answer is not one of the
options, reply None.
Reply:"""


def judge_prompt(text: str, options: Mapping[str, str]) -> str:
    listed = "\n".join(f"({k}) {v}" for k, v in options.items())
    return JUDGE_PROMPT.format(options=listed, text=text.strip()[-4000:])


def parse_verdict(reply: str, options: Mapping[str, str]) -> str | None:
    m = re.fullmatch(r"\W*\(?([A-Ja-j])\)?\W*", reply.strip().split("\n")[0])
    return m.group(1).upper() if m and m.group(1).upper() in options else None


def supported(text: str, letter: str, options: Mapping[str, str], tail: int = 400) -> bool:
    """Does the response's closing part name `letter` on its own, or a word (by its first five letters) that only that
    option's text has?"""
    end = text.strip()[-tail:]
    if re.search(rf"(?<![\w'’-]){letter}(?![\w'’-])|\({letter.lower()}\)", end):
        return True
    mine = {w[:5] for w in content_words(options[letter]) if len(w) > 3}
    theirs = {w[:5] for k, v in options.items() if k != letter for w in content_words(v)}
    return bool({w[:5] for w in content_words(end)} & (mine - theirs))


def extract_with_judge(items: Sequence[tuple[str, Mapping[str, str]]], judge: Backend | None = None,
                       max_tokens: int = 8) -> list[tuple[str | None, str]]:
    """(letter, how) for each (text, options): how is "rules", "judge" or "none". Without a judge: the rules only."""
    out = [(extract_answer(t, o), "rules") for t, o in items]
    todo = [i for i, (letter, _) in enumerate(out) if letter is None]
    if judge is None or not todo:
        return [(letter, how if letter else "none") for letter, how in out]
    requests = [GenRequest(prompt=judge_prompt(*items[i]), max_tokens=max_tokens, temperature=0.0) for i in todo]
    for i, result in zip(todo, judge.generate(requests)):
        letter = parse_verdict(result.texts[0], items[i][1])
        letter = letter if letter and supported(items[i][0], letter, items[i][1]) else None
        out[i] = (letter, "judge" if letter else "none")
    return [(letter, how if letter else "none") for letter, how in out]
