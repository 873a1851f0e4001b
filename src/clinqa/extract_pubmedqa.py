"""Reading a PubMedQA answer (options yes / no / maybe) from a reply that gives no option letter, for
`clinqa.extract`.

In order, the last of each kind wins:
1. the answer word stated as the answer: "The answer is no", "the answer to the question is yes", "Answer: maybe";
2. a conclusion stated in words (issue 24): "In conclusion, yes: ...", "We conclude that no, ...", "Conclusion: No.",
   "the evidence supports a 'yes' answer", "the answer is affirmative" / "a negative answer", "inconclusive — maybe",
   "not conclusive (maybe)", "I would say yes", and a verdict on the question itself: "The evidence supports this."
   (yes), "The evidence does not support this." (no), "The evidence is mixed." (maybe), "Probably not." (no);
3. the answer word first ("Yes, mitochondria are involved.") or last ("Based on the abstract, no.").
The word must stand as an answer, followed by punctuation or the end: "no significant difference" says nothing, and
"yes or maybe" decides nothing. A restatement of the question's claim is not read: without the question, "the evidence
supports that screening improves outcomes" cannot be told from its opposite.
"""

from __future__ import annotations

import re

WORD = r"[\"'*(]*\s*(yes|no|maybe)\b(?!\s*(?:and|or|/)\s*(?:yes|no|maybe)\b)"
AS_ANSWER = r"(?=\s*[,.:;!)\-–—\"'*]|\s*$)"
STATED = re.compile(r"\banswer(?:\s+to\s+(?:the|this)\s+question)?\s*(?:is|would\s+be|:)?\s*[:\-–—]?\s*" + WORD, re.I)
CONCLUDED = re.compile(
    r"\b(?:in\s+conclusion|we\s+conclude(?:\s+that)?|to\s+conclude|conclusion|in\s+summary|overall|taken\s+together|"
    r"therefore|thus|hence|so|(?:i\s+would|i['’]d)\s+(?:say|answer|go\s+with))\s*[,:\-–—]?\s*" + WORD + AS_ANSWER
    + r"|\bsupports?\s+(?:a|an|the)\s+" + WORD
    + r"|\b(?:inconclusive|not\s+conclusive|insufficient|unclear)\b[^.\n]{0,20}?[\s(—–\-:,]" + WORD + AS_ANSWER, re.I)
IN_WORDS = [(re.compile(r"\banswer\s+is\s+(?:in\s+the\s+)?affirmative|\b(?:an?\s+)?(?:affirmative|positive)\s+answer\b|"
                        r"\bevidence\s+(?:clearly\s+|strongly\s+)?supports?\s+(?:this|it)\s*[.!]?\s*$", re.I), "yes"),
            (re.compile(r"\banswer\s+is\s+(?:in\s+the\s+)?negative|\b(?:a\s+)?negative\s+answer\b|\bevidence\s+"
                        r"(?:does\s+not|doesn['’]t|did\s+not|fails?\s+to)\s+support\s+(?:this|it)\s*[.!]?\s*$", re.I),
             "no"),
            (re.compile(r"\b(?:evidence|data|results?|findings?)\s+(?:is|are|was|were|remains?)\s+(?:mixed|inconclusive|"
                        r"equivocal|conflicting|insufficient)\s*[.!]?\s*$", re.I), "maybe"),
            (re.compile(r"^\W*(?:probably|likely|most\s+likely)\s+not\s*[.!]?\s*$", re.I), "no")]
LEAD = re.compile(r"\s*" + WORD, re.I)
LAST = re.compile(r"(?:^|[,:\-–—.!?]\s*|\(\s*)(yes|no|maybe)\s*\)?\s*[.!]?\s*$", re.I)   # "Based on the abstract, no."


def yes_no_maybe(body: str, by_text: dict[str, str]) -> str | None:
    """The letter of the yes/no/maybe option the reply answers with, or None (see the module docstring)."""
    for pattern in (STATED, CONCLUDED):
        found = [next(g for g in m.groups() if g) for m in pattern.finditer(body)]
        if found:
            return by_text[found[-1].lower()]
    in_words = [(m.start(), word) for pattern, word in IN_WORDS for m in pattern.finditer(body.strip())]
    if in_words:
        return by_text[max(in_words)[1]]
    found = LEAD.match(body) or LAST.search(body.strip())
    return by_text[found.group(1).lower()] if found else None
