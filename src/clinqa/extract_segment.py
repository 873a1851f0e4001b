"""Which part of a model's reply answers the question asked (the first step of `clinqa.extract`): whitespace squeezed,
a reasoning block dropped (`</think>`, gpt-oss's final channel, MedGemma's thought tokens, HuatuoGPT-o1's "## Final
Response"), everything from an invented next question or chat turn dropped, and the options of questions the model
made up, so that an answer to one of them is not read as the answer.
"""

from __future__ import annotations

import re
from typing import Mapping

from clinqa.extract_text import norm

# the end of a reasoning block: </think>, gpt-oss's final channel (raw or with its tokens stripped), MedGemma's
# thought tokens, HuatuoGPT-o1's "## Final Response"
THINK_END = re.compile(r"</think>|</reasoning>|<\|channel\|>final<\|message\|>|(?<=analysis)[\s\S]*?assistantfinal|"
                       r"<unused95>|^#+\s*Final\s+Response\s*$", re.I | re.M)
THINK_TAG = re.compile(r"</?(?:think|reasoning)>", re.I)
# a chat template's turn markers: what follows one is a turn the model invented (Llama 2's [INST] and [/INST], Reka's
# <sep>)
TURN_MARKER = r"<\|eot_id\|>|<\|im_end\|>|<\|end\|>|<end_of_turn>|<start_of_turn>|<\|user\|>|</s>|\[/?INST\]|<sep>"
# where a model starts inventing the next exemplar or the next chat turn ("### Human:", "User:" too)
NEW_QUESTION = re.compile(r"\n\s*(?:#+\s*)?(?:\*\*)?\s*(?:Question|Q|Problem|Instructions)\s*(?:\d+\s*)?(?:\*\*)?\s*[:.\n]"
                          r"|" + TURN_MARKER + r"|\n\s*(?:#+\s*)?(?:Human|User)\s*:", re.I)
# turn markers a reply opens with ("<start_of_turn>model\n..."): they end nothing
LEADING_TURN = re.compile(r"^\s*(?:(?:" + TURN_MARKER + r")\s*)+", re.I)
OPENING_QUESTION = re.compile(r"\s*(?:#+\s*)?(?:\*\*)?\s*(?:Question|Q|Problem)\s*(?:\d+\s*)?(?:\*\*)?\s*[:.\n]", re.I)
LISTED_OPTION = re.compile(r"(?m)^\s*\(?([A-J])[\).:]\s*(\S[^\n]*)$")


def squeeze(text: str) -> str:
    """Whitespace runs shortened to one space, one newline or a blank line: the reader's patterns stay linear in the
    text's length (long runs of spaces and newlines, which small models emit, made them backtrack for minutes)."""
    text = re.sub(r"[^\S\n]+", " ", text)
    return re.sub(r" ?\n[\s]*", lambda m: "\n\n" if m.group().count("\n") > 1 else "\n", text)


def invented_options(text: str, options: Mapping[str, str] | None) -> dict[str, set[str]]:
    """The options of questions the model made up: letters listed ("B. Placenta previa") with texts that are not the
    asked question's options, anywhere in the reply, its reasoning block included."""
    found: dict[str, set[str]] = {}
    for letter, listed in LISTED_OPTION.findall(text) if options else ():
        if letter in options and norm(listed) and norm(options[letter]) != norm(listed):
            found.setdefault(letter, set()).add(norm(listed))
    return found if len(found) > 1 else {}      # one line "C) Decreases levels" is an answer cut off, not a question


def echoed(body: str, options: Mapping[str, str]) -> bool:
    """Is every line of the reply an option restated under its letter, the last perhaps cut off ("C. ")?"""
    lines = [line.strip() for line in body.strip().splitlines() if line.strip()]
    if len(lines) < 2:
        return False
    for line in lines:
        m = re.match(r"\(?([A-J])[\).:]\s*(.*)$", line)
        if not m or m.group(1) not in options or not norm(options[m.group(1)]).startswith(norm(m.group(2))):
            return False
    return True


def answer_segment(text: str, options: Mapping[str, str] | None = None) -> str:
    """Drop a reasoning block (keeping it when nothing follows it) and everything from an invented next question; a
    reasoning block left open (cut off before it closed) and a reply that opens with a question of its own (options
    other than the ones asked about, or followed by more questions: exemplars the model writes) answer nothing."""
    parts = THINK_END.split(text)
    if len(parts) == 1 and THINK_TAG.search(text):
        return ""
    body = parts[-1] if len(parts) > 1 and parts[-1].strip() else text
    body = LEADING_TURN.sub("", body)
    blocks = NEW_QUESTION.split(body)
    if options and OPENING_QUESTION.match(body):
        listed = LISTED_OPTION.findall(blocks[0])
        if len(blocks) > 1 or any(norm(options.get(k, "")) != norm(v) for k, v in listed):
            return ""     # a run of exemplars the model writes itself, or a question with other options
    return blocks[0]


def before_new_question(text: str) -> str:
    """The reply up to its first invented question or chat turn (a turn marker it opens with ends nothing)."""
    return NEW_QUESTION.split(LEADING_TURN.sub("", text))[0]
