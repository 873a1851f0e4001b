"""Answer extraction: turn a model's free text into an option letter, or None ("no answer") — never a guess.

Handles the formats real models write: "The answer is (C)", "Answer: C) ...", "**B**", "final answer: b", a bare
"(D)" after an "Answer:" lead, a reasoning model's <think>...</think> block, and yes/no/maybe for PubMedQA.
When several explicit answer statements disagree, the last one wins (models restate their final choice last).
"""

from __future__ import annotations

import re
from typing import Mapping

THINK_END = re.compile(r"</think>|</reasoning>", re.I)
# an explicit answer statement; the letter may be wrapped in (), [], ** or followed by ) . : or end
_L = r"[\(\[\*\s]*([A-Ja-j])(?![A-Za-z])"
EXPLICIT = [
    re.compile(r"(?:final\s+answer|correct\s+answer|best\s+answer|answer)\s*(?:is|would\s+be|:|=|-)?\s*(?:option\s*)?"
               + _L, re.I),
    re.compile(r"(?:option|choice)\s*" + _L + r"\s*(?:is\s+(?:the\s+)?(?:correct|right|best))", re.I),
]
BOLD = re.compile(r"\*\*\s*\(?([A-J])\)?[\.\):]?\s*\*\*")
LEADING = re.compile(r"^\s*(?:\*\*)?\s*\(?([A-J])(?:\)|\.|:|\s|$|\*\*)")
YESNO = re.compile(r"\b(?:answer\s*(?:is|:)?\s*)?(yes|no|maybe)\b", re.I)


def _plausible(m: re.Match, body: str) -> bool:
    """A lowercase letter counts only when bracketed or ending a clause ("answer is a bit" is not option A)."""
    if m.group(1).isupper():
        return True
    before, after = body[m.start(1) - 1:m.start(1)], body[m.end(1):m.end(1) + 1]
    return before in "([*" and before != "" or after in ("", ")", "]", ".", ",", ":", "*", "\n")


def _strip_reasoning(text: str) -> str:
    parts = THINK_END.split(text)
    return parts[-1] if len(parts) > 1 else text


def extract_answer(text: str, options: Mapping[str, str] | None = None) -> str | None:
    """Return the chosen letter (upper case) among `options` (default A-J), or None when no answer can be read."""
    if not text:
        return None
    valid = set(options) if options else set("ABCDEFGHIJ")
    body = _strip_reasoning(text)
    for pat in EXPLICIT:
        hits = [m.group(1).upper() for m in pat.finditer(body) if _plausible(m, body)]
        hits = [h for h in hits if h in valid]
        if hits:
            return hits[-1]
    bold = [m.group(1) for m in BOLD.finditer(body) if m.group(1) in valid]
    if len(set(bold)) == 1:
        return bold[0]
    m = LEADING.match(body)
    if m and m.group(1) in valid:
        return m.group(1)
    if options:
        # yes/no/maybe questions (PubMedQA), or an answer that repeats exactly one option's text
        by_text = {v.strip().lower().rstrip("."): k for k, v in options.items()}
        if set(by_text) <= {"yes", "no", "maybe"}:
            words = [w.lower() for w in YESNO.findall(body)]
            words = [w for w in words if w in by_text]
            if words and len(set(words)) == 1 or (words and re.match(r"\s*(yes|no|maybe)\b", body, re.I)):
                return by_text[words[0]]
        first = body.strip().splitlines()[0].strip().lower().rstrip(".") if body.strip() else ""
        if first in by_text:
            return by_text[first]
    return None
