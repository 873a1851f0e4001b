"""The surface forms of an answer beyond English prose, for `clinqa.extract` (issue 24): decoration stripped from a
reply before its answer statements are read, answer words of other languages, single-letter fields of JSON/YAML
replies, a marked option in a check-mark list, and a letter standing alone at the end of the reply.

- `undecorate`: markdown emphasis (`**C**`, `__A__`, `*C*`), emoji, arrows (`→ ⇒ -> ⟶ ➡️`, read as a colon), a
  trailing arrow pointing back at a letter ("(B) ← this one": "(B) is the correct answer"), circled letters (Ⓒ is
  "(C)"), a circled number right after an answer word ("答案：③" is C) and a Cyrillic or Greek look-alike of a Latin
  letter there ("Ответ: А", Cyrillic А, is A); an option's number ("option 3" is "option (C)"). Check and cross
  marks are kept.
- `FOREIGN`: "答案：A", "正确答案是 C", "所以选B", "正解は A", "La respuesta es A", "la opción correcta es (B)",
  "Réponse : C", "la bonne réponse est donc la B", "Die richtige Antwort ist C", "A alternativa correta é a D",
  "Resposta correta: letra D", "La risposta corretta è la D", "정답은 C", "Ответ: B", "Odpowiedź: B", "Jawaban: C",
  "Cevap: D", "Svar: A", "Chọn C", "Đáp án: B", "उत्तर: A", "الإجابة: C". "或 和 o ou oder y et und" are
  read as "or"/"and" by the hedge check in `clinqa.extract`.
- `field_value`: the letter of a structured reply's single-letter fields (`"choice": "C"`, `final_answer: d`,
  `{"result": {"option": "A"}}`, `answer = "B"`, a tool call's `submit_answer(choice="B")`); fields that name a rejected option (`ruled_out`, `eliminated`, `least_likely`)
  are skipped; fields that disagree are decided by the one called final/answer, else not at all. With `WORD_FIELD`,
  a PubMedQA reply's yes/no/maybe fields (`{"verdict": "maybe"}`).
- `checked_option`: "✅ B) ...", "A ✓" or "B: ✅", the one option marked with a check; a markdown task list
  ("- [x] C. ...", the others "- [ ]") is read as checks and crosses.
- `closing_letter`: a letter alone at the very end, after a short lead and a colon or comma ("Verdict: B", "Thus: D",
  "On balance, C.", "Not entirely certain, but A.", "Probably D. (Confidence: moderate.)"), or after a sentence of
  any length and a colon, a comma or "so" ("... from vitamin B6 deficiency, so D.", "So e.").
"""

from __future__ import annotations

import re

CHECK, CROSS = "✅✔✓☑", "❌✗✘✖❎"
EMOJI = re.compile(f"(?![{CHECK}{CROSS}])[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\uFE0F\u200D]")
RIGHT_ARROW = re.compile(r"\s*(?:->|=>|⇒|→|⟶|⟹|➡|➜|➔|⮕|⇨|⟼)\s*")
LEFT_ARROW = re.compile(r"(\(?\b[A-J]\)?)[ \t]*(?:←|⬅|<-+|⟵|⟸)[^\n]*")
EMPHASIS = re.compile(r"(?<![\w*])(?:\*{1,3}|_{2,3})(?=\S)|(?<=\S)(?:\*{1,3}|_{2,3})(?![\w*])")
TASK_BOX = re.compile(r"(?m)^([ \t]*(?:[-*+][ \t]*)?)\[([ xX])\]")
CIRCLED_LETTER = {chr(0x24B6 + i): f"({chr(65 + i)})" for i in range(10)} | \
                 {chr(0x24D0 + i): f"({chr(97 + i)})" for i in range(10)}
FOREIGN_WORD = (r"(?:(?<![^\W\d_])(?:respuesta|r[ée]ponse|antwort|antwoord|resposta|risposta|alternativa|opci[oó]n|"
                r"op[cç][aã]o|ответ|odpowied[źz]|jawaban|cevap|svar|ch[oọ]n|đáp\s+án|الإجابة|الجواب)|उत्तर|答案|答え|"
                r"正解|정답|选(?!项)|選(?!項))")
ANSWER_WORD = r"(?:(?<![^\W\d_])answer|" + FOREIGN_WORD[3:]
CIRCLED_NUMBER = re.compile(ANSWER_WORD + r"([^\n①-⑩]{0,8}?)([①-⑩])", re.I)
# "The answer is option 3." (the third option) unless a letter follows ("option 3 (C)")
OPTION_NUMBER = re.compile(r"\b(option|choice)\s+#?(10|[1-9])(?![\d.,]\d|\s*[\(\[]?[A-Ja-j]\b|\s*(?:mg|%|ml))", re.I)
# "Ответ: А" with a Cyrillic (or Greek) letter that looks like a Latin one, right after an answer word
LOOKALIKE = dict(zip("АВСЕаеΑΒΕ", "ABCEaeABE"))
LOOKALIKE_LETTER = re.compile(ANSWER_WORD + r"[^\w\n]{0,4}[АВСЕаеΑΒΕ](?![^\W\d_])", re.I)

# "la opción correcta es (B)", "Die richtige Antwort lautet: D", "答案为A", "所以选B", "正解は A"
FOREIGN = re.compile(
    FOREIGN_WORD + r"[】\]]?(?:择|擇)?"
    r"(?:\s*(?:correcta|correcto|correcte|correta|correto|corretta|corretto|giusta|richtige|korrekte|bonne|juste|finale?|"
    r"正确|正確))*"
    r"(?:\s*(?:es|est|ist|is|lautet|é|è|sería|seria|serait|wäre|será|sera|是|为|為|は|은|는|है|هي|هو|[:：=]))*"
    r"(?:\s*(?:donc|alors|also|daher|portanto|entonces|por\s+lo\s+tanto|la|le|a|die|der|letra|lettre|buchstabe|"
    r"opci[oó]n|option|op[cç][aã]o|alternativa|选项|選項)(?![^\W\d_]))*"
    r"\s*(?:[\(\['\"“‘]\s*)?([A-Ja-j])(?![A-Za-z0-9\-]|['’][A-Za-z])", re.I)
# "I'd go with option (b)", "the correct one is option (d)": a lower-case letter in parentheses after "option"
OPTION_PAREN = re.compile(r"\b(?:is|go\s+with|choose|select|pick|opt\s+for|answer|hence|so|thus|therefore)\s*,?\s+"
                          r"(?:the\s+)?option\s*"
                          r"\(([A-Ja-j])\)", re.I)
# "C is the best choice", "D is the correct answer", "so B is correct." (closing its sentence)
LETTER_IS_BEST = re.compile(r"(?<![\w'’])(?<!\b[Nn]or )(?<!\b[Oo]r )(?<!\b[Aa]nd )(?<!\b[Ii]f )(?<!\b[Ww]hether )"
                            r"([A-J])\)?\s+is\s+(?:the\s+|my\s+)?(?:(?:best|correct|right|most\s+appropriate)\s+"
                            r"(?:choice|answer|option|response|pick)\b|(?:correct|right)(?=\s*[.!]?\s*$|\s*[.!]\s))", re.M)



def _fields(value: str) -> re.Pattern[str]:
    """A JSON field `"name": "<value>"`, a YAML one `name: <value>`, a TOML one `name = "<value>"` or a tool call's
    argument `submit(choice="<value>")`: the name is group 1, 2 or 3, the value 4 or 5."""
    return re.compile(r"""(?:["']([A-Za-z_][\w \-]{0,40})["']\s*:|^[ \t]*-?[ \t]*([a-z_][a-z0-9_]{0,40})\s*[:=]"""
                      r"""|(?<=[(,])[ \t]*([A-Za-z_]\w{0,40})\s*=)\s*"""
                      rf"""(?:["']\s*{value}\s*["']|{value}[ \t]*(?=[,}})\n]|$))""", re.M)


LETTER_FIELD = _fields(r"\(?([A-Ja-j])\)?")
WORD_FIELD = _fields(r"((?i:yes|no|maybe))")       # a PubMedQA reply: {"verdict": "maybe"}
REJECTED_FIELD = re.compile(r"exclud|eliminat|ruled|rule_out|wrong|incorrect|least|worst|reject|distract|not_|"
                            r"alternativ|runner|second|initial|first|prior|previous|impression", re.I)
FINAL_FIELD = re.compile(r"final|answer|choice|pick|select", re.I)

# a mark, or a letter formatted as an option: "B)", "C.", "A ✓", "| D |", "Option B is ..." ("A high-altitude ..." is
# an article, not a letter)
MARK_OR_LETTER = re.compile(r"([" + CHECK + CROSS + r"])|(?<![\w'’])\(?([A-J])(?:[\)\.:]|(?=[ \t]*(?:$|\n|[^\w\s])))"
                            r"|(?i:option|choice)\s+\(?([A-J])(?![\w'’])")
CLOSING = re.compile(r"(?:^|[.!?]\s|\n)(?:[^\n.!?]{0,40}?(?i:[:,]|\bbut|\bprobably|\blikely|\btentatively|\bso|"
                     r"\bthus|\bhence|\btherefore))?\s*\(?([A-J])\)?\s*[.!]?\s*(?:\([^()\n]{0,80}\)\s*\.?)?\s*$"
                     r"|(?:[:：,]|\b(?i:so|thus|hence|therefore))\s*\(?([A-J]|[b-hj]|(?<=\()[ai])\)?\s*[.!]?\s*$")


def undecorate(text: str) -> str:
    """The reply without decoration around its answer (see the module docstring); words are left as they are."""
    text = TASK_BOX.sub(lambda m: m.group(1) + ("❎" if m.group(2) == " " else "✅"), text)
    text = LEFT_ARROW.sub(r"\1 is the correct answer.", text)
    text = RIGHT_ARROW.sub(": ", text)
    text = EMOJI.sub(" ", text)
    text = EMPHASIS.sub("", text).replace("`", "")
    text = "".join(CIRCLED_LETTER.get(c, c) for c in text)
    text = LOOKALIKE_LETTER.sub(lambda m: m.group(0)[:-1] + LOOKALIKE[m.group(0)[-1]], text)
    text = OPTION_NUMBER.sub(lambda m: f"{m.group(1)} ({chr(64 + int(m.group(2)))})", text)
    text = CIRCLED_NUMBER.sub(lambda m: m.group(0)[:-1] + f"({chr(ord(m.group(2)) - 0x2460 + 65)})", text)
    return re.sub(r":\s*:", ":", re.sub(r"[^\S\n]+", " ", text))


def field_value(body: str, valid: set[str], fields: re.Pattern[str] = LETTER_FIELD) -> str | None:
    """The value (one of `valid`, in any case) that the structured reply's letter fields (or other `fields`) name, if
    they name one (see the module docstring)."""
    named = []
    for m in fields.finditer(body):
        name, value = m.group(1) or m.group(2) or m.group(3), (m.group(4) or m.group(5)).lower()
        chosen = next((v for v in valid if v.lower() == value), None)
        if chosen and not REJECTED_FIELD.search(name):
            named.append((name, chosen))
    values = {value for _, value in named}
    if len(values) == 1:
        return values.pop()
    final = {value for name, value in named if FINAL_FIELD.search(name)}
    return final.pop() if len(final) == 1 else None


def checked_option(body: str, valid: set[str]) -> str | None:
    """The one option marked with a check ("✅ B) ...", "A ✓", "B: ✅"), the others crossed out or unmarked: marks
    pair with the letter after them when the list starts with a mark, else with the letter before them."""
    tokens = [(m.group(1), m.group(2) or m.group(3)) for m in MARK_OR_LETTER.finditer(body)]
    if not any(mark for mark, _ in tokens):
        return None
    mark_first = tokens[0][0] is not None
    checked, crossed, letter, mark = set(), set(), None, None
    for m, l in tokens:
        if mark_first:
            mark = m or mark
            if l and mark:
                (checked if mark in CHECK else crossed).add(l)
                mark = None
        else:
            letter = l or letter
            if m and letter:
                (checked if m in CHECK else crossed).add(letter)
                letter = None
    return checked.pop() if len(checked) == 1 and checked <= valid else None


def closing_letter(body: str, valid: set[str]) -> str | None:
    """A letter alone at the end of the reply, after a short lead (see the module docstring)."""
    body = body.rstrip()
    m = CLOSING.search(body)
    letter = m and (m.group(1) or m.group(2).upper())      # "... planar papules. So e." is E
    if letter not in valid:
        return None
    start = m.start() if m.group(1) else max(body.rfind("\n", 0, m.start()),
                                              *(body.rfind(c + " ", 0, m.start()) for c in ".!?")) + 1
    lead = body[start:m.start(m.lastindex)].lstrip(".!? ")
    others = set(re.findall(r"\b[A-J]\b(?!['’])", lead)) & valid - {letter}
    return None if others or re.search(r"\b(?:or|and|not)\s*$|[/或]", lead) else letter
