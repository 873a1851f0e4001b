"""Reading a PubMedQA answer (options yes / no / maybe) from a reply that gives no option letter, for
`clinqa.extract`.

In order, the last of each kind wins:
1. the answer word stated as the answer: "The answer is no", "the answer to the question is yes", "Answer: maybe",
   "<answer>yes</answer>", "The final answer is $\\boxed{\\text{yes}}$";
2. a conclusion stated in words (issue 24): "In conclusion, yes: ...", "We conclude that no, ...", "Conclusion: No.",
   "Bottom line: no.", "The data say yes: ...", "the evidence supports a 'yes' answer", "the answer is affirmative" /
   "a negative answer", "inconclusive — maybe", "not conclusive (maybe)", "I would say yes", the answer word of another
   language after an answer or conclusion word ("结论：否", "Respuesta: sí", "Fazit: nein", "答え：はい"), and a verdict on the
   question itself: "The evidence supports this." (yes), "The evidence does not support this." (no), "The evidence is
   mixed." (maybe), a reply opening with "Probably not." or "Not really." (no);
3. the answer word first ("Yes, mitochondria are involved.") or last ("Based on the abstract, no.").
The word must stand as an answer, followed by punctuation or the end: "no significant difference" says nothing, and
"yes or maybe" decides nothing. A restatement of the question's claim is not read: without the question, "the evidence
supports that screening improves outcomes" cannot be told from its opposite.
"""

from __future__ import annotations

import re

WORD = r"[\"'*(]*\s*(yes|no|maybe)\b(?!\s*(?:and|or|/)\s*(?:yes|no|maybe)\b)"
AS_ANSWER = r"(?=\s*[,.:;!)\-–—\"'*]|\s*$)"
STATED = re.compile(r"(?:\banswer(?:\s+to\s+(?:the|this)\s+question)?\s*(?:is|would\s+be|:)?|<answer>)\s*[:\-–—]?\s*"
                    r"(?:\$?\\boxed\{\s*(?:\\text\{)?)?" + WORD, re.I)
CONCLUDED = re.compile(
    r"\b(?:in\s+conclusion|we\s+conclude(?:\s+that)?|to\s+conclude|conclusion|in\s+summary|overall|taken\s+together|"
    r"therefore|thus|hence|so|bottom\s+line|short\s+answer|in\s+short|in\s+a\s+word|verdict|"
    r"(?:the\s+)?(?:data|results?|evidence|findings|study)\s+(?:says?|suggests?|indicates?|shows?)|"
    r"(?:i\s+would|i['’]d)\s+(?:say|answer|go\s+with))\s*[,:\-–—]?\s*" + WORD + AS_ANSWER
    + r"|\bsupports?\s+(?:a|an|the)\s+" + WORD
    + r"|\b(?:inconclusive|not\s+conclusive|insufficient|unclear)\b[^.\n]{0,20}?[\s(—–\-:,]" + WORD + AS_ANSWER, re.I)
IN_WORDS = [(re.compile(r"\banswer\s+is\s+(?:in\s+the\s+)?affirmative|\b(?:an?\s+)?(?:affirmative|positive)\s+answer\b|"
                        r"\bevidence\s+(?:clearly\s+|strongly\s+)?supports?\s+(?:this|it)\s*[.!]?\s*$", re.I), "yes"),
            (re.compile(r"\banswer\s+is\s+(?:in\s+the\s+)?negative|\b(?:a\s+)?negative\s+answer\b|\bevidence\s+"
                        r"(?:does\s+not|doesn['’]t|did\s+not|fails?\s+to)\s+support\s+(?:this|it)\s*[.!]?\s*$", re.I),
             "no"),
            (re.compile(r"\b(?:evidence|data|results?|findings?)\s+(?:is|are|was|were|remains?)\s+(?:mixed|inconclusive|"
                        r"equivocal|conflicting|insufficient)\s*[.!]?\s*$", re.I), "maybe"),
            (re.compile(r"^\W*(?:(?:probably|likely|most\s+likely|definitely|certainly)\s+not|not\s+really)"
                        r"\s*(?:[.!,;:—–]|$)", re.I), "no")]
# "结论：否", "Respuesta: sí", "Fazit: nein": yes/no/maybe in another language after an answer or conclusion word
FOREIGN_WORDS = {"是": "yes", "是的": "yes", "否": "no", "不是": "no", "可能": "maybe", "也许": "maybe", "不确定": "maybe",
                 "sí": "yes", "si": "yes", "quizás": "maybe", "quizá": "maybe", "tal vez": "maybe", "oui": "yes",
                 "non": "no", "peut-être": "maybe", "ja": "yes", "nein": "no", "vielleicht": "maybe", "sim": "yes",
                 "não": "no", "talvez": "maybe", "no": "no", "はい": "yes", "いいえ": "no", "どちらとも言えない": "maybe",
                 "わからない": "maybe", "예": "yes", "네": "yes", "아니요": "no", "아니오": "no", "아마도": "maybe"}
FOREIGN = re.compile(r"(?:答案|答え|解答|正解|结论|結論|回答|정답|답|결론|respuesta|conclusi[oó]n|r[ée]ponse|antwort|fazit|"
                     r"resposta|conclus[aã]o)"
                     r"\s*(?:es|est|ist|é|是|为|為|は|은|는)?\s*[:：]?\s*[\"'“「]?("
                     + "|".join(sorted(map(re.escape, FOREIGN_WORDS), key=len, reverse=True))
                     + r")(?=\s*[,.:;!)\-–—\"'*，。；！」]|\s*(?:です|입니다)|\s*$)", re.I)
LEAD = re.compile(r"\s*" + WORD, re.I)
LAST = re.compile(r"(?:^|[,:\-–—.!?]\s*|\(\s*)(yes|no|maybe)\s*\)?\s*[.!]?\s*$", re.I)   # "Based on the abstract, no."


def yes_no_maybe(body: str, by_text: dict[str, str]) -> str | None:
    """The letter of the yes/no/maybe option the reply answers with, or None (see the module docstring)."""
    for pattern in (STATED, CONCLUDED):
        found = [next(g for g in m.groups() if g) for m in pattern.finditer(body)]
        if found:
            return by_text[found[-1].lower()]
    found = [FOREIGN_WORDS[m.group(1).lower()] for m in FOREIGN.finditer(body)]
    if found:
        return by_text[found[-1]]
    in_words = [(m.start(), word) for pattern, word in IN_WORDS for m in pattern.finditer(body.strip())]
    if in_words:
        return by_text[max(in_words)[1]]
    found = LEAD.match(body) or LAST.search(body.strip())
    return by_text[found.group(1).lower()] if found else None
