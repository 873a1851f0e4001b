"""Answer extraction: turn a model's free text into an option letter, or None ("no answer") — never a guess.

Reading order, each step only when the previous found nothing:
1. (clinqa.extract_segment) A reasoning model's `<think>...</think>` block is dropped, and so is everything from an
   invented next question ("Question: ...", "### Question 2", a chat model's next turn): the answer to the question
   asked wins over text the model wrote for a question it made up. Decoration is then stripped
   (clinqa.extract_forms.undecorate: markdown emphasis, emoji, arrows read as a colon, circled letters, task-list
   boxes, a Cyrillic look-alike letter).
2. Explicit answer statements: "The (correct|final|best) answer is (C)", "answer would be:\\nC)", "Answer: c",
   "Ans. is 'c'", "**Answer: B**", "\\boxed{D}", `{"answer": "D"}`, "the correct choice is 'B'", "I'd choose option D",
   "the most appropriate is (C)", "Correct option: (a)", "option 3 (C)", "(B) is correct", "..., option D.",
   "C is the best choice", "Probably B, since ...", "I'm leaning toward D", "Verdict: b — ...", answer words of other
   languages ("答案：A", "la respuesta es B", "Die richtige Antwort ist C"), and an option's own text after an answer
   lead ("The correct answer is Deamidated gliadin peptide", "Best choice: ..."). When they disagree, the last wins
   only if it is a final answer or a self-correction ("On reflection, the answer is D", "Correcting myself, the answer
   is B"); otherwise the text has no answer. A letter followed by "or C" (or "或C", "o C"), a list of letters, or "but
   D is equally likely" is not an answer; a letter followed by another option's text ("(B) Clopidogrel" when B is not
   clopidogrel; "(A) Aspirin and clopidogrel" when that is C's text) is a garbled statement: it gives no answer, and
   when it is the last statement the text has none (an earlier garbled one is superseded by a later clean one). A
   reply cut off mid-sentence keeps only statements that call their letter the answer, and none that is tentative or
   still being weighed in the unfinished sentence ("The answer is likely (A) because ...; however, we should check
   for").
3. A letter in bold alone ("**B**"), when only one letter is bolded.
4. The single-letter fields of a JSON/YAML reply (`"choice": "C"`, `final_answer: d`; not `ruled_out`), the one option
   marked with a check ("✅ B)", "A ✓", "B: ✅", "- [x] C."), a leading letter formatted as an option (bracketed
   "(C)", a bare "B", "A, not C", a letter alone on the first line before the rationale, or a letter followed by ")"
   "." ":" and that option's own text: "C. warfarin"; never a word: "A 45-year-old man ..." is not option A and "C.
   difficile ..." is not option C), a letter alone closing the reply after a short lead ("Verdict: B", "On balance, C.",
   "... required -> C"), or opening its last line before a dash and a short gloss that names no other option ("B —
   Mobitz I").
5. The option's text itself, when the output asserts exactly one option's text (clinqa.extract_text: "The answer is
   warfarin", "Delaying surgery ... is the most appropriate next step", "... suggests an aneurysm of the common iliac
   artery", "...: aspirin and clopidogrel.", "Perform a lumbar puncture." closing the reply; words matched by stem,
   accents and articles ignored, an option found only inside a longer option's text not counted, and after a verdict
   in any order with one word left out, never beside its opposite; clauses that negate or hedge assert nothing, nor
   do "rather than X", options restated as a list, or an unfinished last sentence; a text that pairs letters with
   other options' texts is unreadable; "type IV" is "type 4" and an acronym spells out an option's words: "type 4 RTA"),
   in a reply that ends where it meant to the one option named plainly in its last sentences when every other option
   it names is negated, hedged or set aside ("Vasa previa is wrong ... Uterine rupture fits the scar."), and for PubMedQA yes/no/maybe in a field of a structured reply, stated as the
   answer, as a conclusion in words or as the first or last word (clinqa.extract_pubmedqa).
"""

from __future__ import annotations

import re
from typing import Mapping

from clinqa.extract_forms import (FOREIGN, FOREIGN_WORD, LETTER_IS_BEST, OPTION_PAREN, WORD_FIELD, checked_option,
                                  closing_letter, field_value, undecorate)
from clinqa.extract_pubmedqa import yes_no_maybe
from clinqa.extract_segment import (THINK_TAG, answer_segment, before_new_question, echoed, invented_options,
                                    squeeze)
from clinqa.extract_text import compound, norm, option_text_named

# the letter: optionally wrapped in ( [ ' " * or spaces; not followed by another letter or a hyphenated word
_L = r"\s*(?:[\(\[\*'\"“‘]+\s*)?([A-Ja-j])(?![A-Za-z0-9\-]|['’][A-Za-z])"
_IS = (r"(?:\s+(?:here|then|now|overall))?(?:\s*(?:is|would(?:\s+have\s+to)?\s+be|will\s+be|should\s+be|must\s+be|"
       r"has\s+to\s+be|=|-|–|—))?(?:\s*[:：])?")
_OPT = (r"(?:\s*(?:definitely|clearly|probably|likely|most\s+likely|therefore|thus|I\s+think\s+it['’]?s|"
        r"I\s+think\s+it\s+is)\s*,?)?(?:\s*(?:the\s+\w+\s+)?(?:option|choice)(?:\s*\d+)?(?:\s*[:\-])?)?")
# "(option D)": a reference to an option, read only when nothing else states an answer ("Beta-lactams (option A) are
# ineffective ... Therefore, the answer is (C)" is C)
REFERENCE = re.compile(r"\((?:option|choice)\s+([A-J])\)")
EXPLICIT = [
    # "the correct answer is (C)", "answer would be:\nC)", "Answer: c", "ANSWER: B", "Ans. is 'c'", "final answer - D"
    re.compile(r"\b(?:answer|ans\b\.?)(?:\s+choice|\s+option)?(?:\s+to\s+(?:this|the)\s+question)?" + _IS + _OPT + _L,
               re.I),
    # "the correct choice is 'B'", "correct option: (a)", "the best option would be D", "option 3 (C)"
    re.compile(r"\b(?:correct|right|best|final|most\s+appropriate|most\s+likely|most\s+accurate)\s+"
               r"(?:choice|option|response|selection)" + _IS + _OPT + _L, re.I),
    # "the most appropriate is (C)", "the most likely is B"
    re.compile(r"\bmost\s+(?:appropriate|likely|accurate|correct)(?:\s+\w+){0,4}?\s+(?:is|would\s+be|will\s+be)"
               r"(?:\s*:)?" + _OPT + _L, re.I),
    # "I'd choose B", "I would go with option D", "I will select (C)", "my choice is C"
    re.compile(r"\b(?:I['’]d|I\s+would|I\s+will|I['’]ll|I['’]m|I\s+am|I|let\s+me|let['’]s)\s+(?:going\s+to\s+)?(?:choos(?:e|ing)|select(?:ing)?|pick(?:ing)?|"
               r"go(?:ing)?\s+with|opt(?:ing)?\s+for|commit(?:ting)?\s+to|settl(?:e|ing)\s+on|stick(?:ing)?\s+with|"
               r"lean(?:ing)?\s+(?:towards?|to))"
               + _OPT + _L, re.I),
    re.compile(r"\bmy\s+(?:choice|answer|pick|selection)" + _IS + _OPT + _L, re.I),
    # "Verdict: b — a young ...", "Pick: (C)": a verdict word, a colon and a letter standing alone
    re.compile(r"\b(?:verdict|pick|selection|decision|conclusion|choice|response)\s*[:：]\s*[\(\[]?([A-Ja-j])[\)\]]?"
               r"(?=\s*(?:$|\n|[.,;!]|[—–]|-\s))", re.I),
    # "Probably B, since ...", "I think C." opening a sentence or following a colon
    re.compile(r"(?:^|[.!?:]\s+|\n)\s*(?:probably|most\s+likely|likely|I\s+think|I\s+believe|I['’]d\s+say|"
               r"leaning(?:\s+towards?)?)\s*,?\s*\(?([A-J])\)?(?=\s*[,.;:!(]|\s*$)", re.I),
    # "I'm fairly sure it's D", "it is probably B."
    re.compile(r"\b(?:it['’]s|it\s+is)\s+(?:probably\s+|likely\s+|definitely\s+|clearly\s+)?\(?([A-J])\)?(?=[\s,.;:!)]|$)"),
    # "option 3 (C)" with a number before the letter; "(option D)"; "..., option D." closing a sentence
    re.compile(r"\boption\s+\d+\s*[\(\[]([A-Ja-j])[\)\]]", re.I),
    REFERENCE,
    re.compile(r",\s*(?:option|choice)\s+([A-J])\s*\.?\s*$"),
    # "(B) is correct", "Option B is the correct answer", "option D (Ruxolitinib) is the best choice"
    re.compile(r"(?:\b(?:option|choice)\s*\(?([A-Ja-j])\)?|\(([A-Ja-j])\))(?:\s*\([^()\n]{1,60}\)|\s*[:\-–—]\s*[^.\n:]{1,60}?)?"
               r"\s+is\s+"
               r"(?:the\s+)?(?:correct|right|best)\b", re.I),
    # "B is more likely", "\boxed{D}", "\boxed{\text{E}}", {"answer": "D"}, <answer>D</answer>, "✅ B)"
    re.compile(r"\b([A-J])\s+is\s+(?:the\s+)?(?:more|most)\s+likely\b"),
    re.compile(r"\\boxed\{\s*(?:\\text\{\s*)?\(?([A-Ja-j])\)?"),
    re.compile(r"[\"']answer[\"']\s*:\s*[\"']\(?([A-Ja-j])\)?[\"']", re.I),
    re.compile(r"<answer>\s*\(?([A-Ja-j])\)?\s*</answer>", re.I),
    # an agent's call: final_answer("E"), submit_answer('c')
    re.compile(r"\b(?:final_answer|submit\w*|answer|choose|select)\(\s*[\"']\(?([A-Ja-j])\)?[\"']\s*\)", re.I),
    FOREIGN, OPTION_PAREN, LETTER_IS_BEST,      # other languages, "option (b)", "C is the best choice"
]
CORRECTION = re.compile(r"(?:on\s+reflection|on\s+second\s+thought|actually|wait|correction|re-?consider\w*|instead|"
                        r"rather|final|correcting\s+(?:myself|that|this)|I\s+misread|scratch\s+that|my\s+mistake)"
                        r"\W[^.\n]{0,40}$", re.I)
# a statement taken back right after it is made ("The answer is B) ... wait, no. Let me reconsider.")
RETRACTED = re.compile(r"[^\n]{0,80}?(?:[.!?…]+|\n)\s*\W{0,3}(?:wait|hold\s+on|let\s+me\s+re-?(?:consider|think|check)|"
                       r"on\s+second\s+thought|scratch\s+that|actually,?\s+no|that'?s\s+(?:wrong|incorrect)|I\s+was\s+wrong)\b",
                       re.I)
# a reply that says it cannot decide ("it is not possible to definitively distinguish between A and B")
UNDECIDED = re.compile(r"\b(?:not\s+(?:possible|able)|impossible|cannot|can\s?not|can't|unable)\s+(?:to\s+)?(?:be\s+)?"
                       r"(?:\w+ly\s+)?(?:distinguish|differentiate|decide|determine|choose|tell)\b", re.I)
DECIDING = re.compile(r"\b(?:but|however|yet|still|nevertheless|though|although|that\s+said|most|best|favou?r\w*)\b", re.I)
NO_ANSWER = re.compile(r"\banswer\s+is\s+not\s+(?:provided|given|listed|known|clear|among)|\bnone\s+of\s+the\s+"
                       r"(?:above|options|choices)\b|\bbut\s+\(?[A-J]\)?\s+(?:is|seems|looks)\s+(?:equally|just\s+as|"
                       r"also)\s+(?:likely|possible|plausible|valid|reasonable|good)", re.I)
# a reply cut off mid-sentence whose last statement is tentative or still being weighed ("The answer is likely (A)
# because ...; however, we should check for"): no answer
TENTATIVE = re.compile(r"\b(?:likely|probably|possibly|perhaps|maybe|might|may|seems?|suggests?|tempting|lean\w*)\b",
                       re.I)
# in a reply cut off mid-sentence only a statement that calls its letter the answer counts ("(option A)" inside a
# numbered reasoning step does not)
FIRM = re.compile(r"answer|ans\b|correct|right|best|final|choose|choice|select|pick|go\s+with|commit|verdict|decision|"
                  r"conclusion|\\boxed|✅|" + FOREIGN_WORD, re.I)
WEIGHING = re.compile(r"\b(?:but|however|although|though|whether|before|unless|except|let\s+me|wait|reconsider)\b",
                      re.I)
# "the answer is Deamidated gliadin peptide", "Answer: warfarin", "Best choice: ...": the option's own text after an
# answer lead
ANSWER_TEXT = re.compile(r"\b(?:answer|ans\b\.?|(?:best|correct|right|final)\s+(?:choice|option|pick))"
                         r"(?:\s+to\s+(?:this|the)\s+question)?(?:\s*(?:is|would\s+be)|\s*[:：]|(?<=[Aa]nswer)[ \t]*\n)"
                         r"\s*(?:[:：]\s*)?(?:an?\s+|the\s+)?", re.I)
OWN_TEXT = re.compile(r"(?:\b(?:is|are|be)\s+|[:：][ \t]*)\(?([A-J])[\).:]\s*")
BOLD = re.compile(r"\*\*\s*\(?([A-J])\)?[\.\):]?\s*\*\*")
BRACKETED = re.compile(r"^\s*(?:\*\*)?\s*[\(\[]([A-J])[\)\]]")
BARE = re.compile(r"^\s*(?:\*\*)?\s*([A-J])\s*[\.\):]?\s*(?:\*\*)?\s*$")
# the whole reply a lower-case letter ("c"), or its last line "Option C."
ALONE = re.compile(r"^\s*\(?([a-j])\)?\s*\.?\s*$|(?:^|\n)\s*(?:option|choice)\s*\(?([A-Ja-j])\)?\s*[.!]?\s*$", re.I)
GLOSSED = re.compile(r"(?:^|\n)\s*\(?([A-J])\)?\s*(?:[—–]|\s-\s)\s*[^\n]{1,60}$")     # "B — Mobitz I" closing the reply
DASHED = re.compile(r"^\s*(?:\*\*)?\s*\(?([A-J])\)?\s*(?:[—–]|\s-\s)\s*([^\n]*)")     # "C — irreversible P2Y12 blockade. ..."
LETTER_NOT_OTHER = re.compile(r"^\s*\(?([A-J])\)?\s*(?:,|\(|[—–]|\s-\s)\s*not\s+\(?[A-J]\)?(?![\w'’])")
LETTER_THEN_TEXT = re.compile(r"^\s*(?:\*\*)?\s*([A-J])\s*[\)\.:]\s*(?:\*\*)?\s*(.*)", re.S)


_norm = norm


def _letter(m: re.Match) -> tuple[str, int]:
    g = next(i for i in range(1, (m.lastindex or 1) + 1) if m.group(i))
    return m.group(g), m.start(g)


def _by_option_text(text: str, options: Mapping[str, str]) -> str | None:
    """The letter whose option text `text` starts with (the longest such option, not as the first part of a
    hyphenated word: "aspirin-exacerbated ..." is not "Aspirin"), else None."""
    t = _norm(text)
    if not t:
        return None
    found = [(len(_norm(v)), k) for k, v in options.items()
             if _norm(v) and (t == _norm(v) or t.startswith(_norm(v) + " ")) and not compound(text, v)]
    return max(found)[1] if found else None


def _following(body: str, pos: int) -> str:
    """The text that follows the letter at `pos` on its line, as what the letter is said to be ("C. Warfarin" ->
    "Warfarin"), or "" when the sentence ends there ("... is (B).")."""
    rest = body[pos + 1:pos + 400].split("\n")[0]
    if re.match(r"[\)\]'\"*]+\s*\.(?:\s|$)", rest):
        return ""
    return re.sub(r"^[\)\]\.:'\"*\s\-—–]+", "", rest)


def _reading(letter: str, pos: int, body: str, options: Mapping[str, str] | None, foreign: bool = False) -> str | None:
    """How the letter at `pos` reads: "ok" (an option letter), "mismatch" (a letter stated with another option's
    words: "(B) Clopidogrel" when clopidogrel is option C) or None (part of a word, a hedge, a description).
    "C. difficile" and "e.g." are words unless the option's own text follows; a lower-case "a"/"i" before a word is
    an article or pronoun, except after an answer word of another language followed by no Latin word ("正解は a です");
    "B or C" decides nothing."""
    before, rest = body[pos - 1:pos] if pos else "", body[pos + 1:pos + 80]
    upper = letter.upper()
    if re.match(r"\.\s*[a-z]|\.[A-Za-z]", rest):
        ok = options and upper in options and _by_option_text(rest[1:].split("\n")[0], {upper: options[upper]})
        return "ok" if ok else None
    if re.match(r"[\)\]'\"]?\.?\s*(?:[^.;\n]{0,60}?\s)?(?:(?:or|and|o|ou|oder|y|et|und)\s|[/或和])\s*(?:la\s+|le\s+)?"
                r"(?:\([A-J]\)|[A-J](?![^\W\d_]))", rest):
        return None       # "B or C", "(A) cholecystitis or (C) choledocholithiasis", "A或C", "B o D": a hedge
    if re.match(r"[\)\]'\"]?\s*,\s*(?:and\s+)?[\(\['\"]?[A-J][\)\]'\"]?(?:\s*[,\]\)]|\s*$)", rest):
        return None       # "answer: [A, D]": a list of letters
    if re.match(r"\)?\s*\([^()\n]{1,60}\)\s+(?:is|are|has|have|shows?|causes?|would|can)\b", rest):
        return None       # "answer choice A (Legionella) is a gram-negative rod": an option described
    after = rest[:1]
    closes = after in ("", ")", "]", ".", ",", ":", ";", "*", "\n", "'", '"', "”", "’")
    if not (letter.isupper() or before in ("(", "[", "*", "'", '"', "“", "‘") or closes
            or (after.isspace() and (letter not in "ai" or (foreign and not re.match(r"\s*[A-Za-z]", rest))))):
        return None
    if options and upper in options:
        after = _following(body, pos)
        # the longest option text that follows: "(A) Aspirin and clopidogrel" names C, whose text contains A's
        named = _by_option_text(after, options)
        if named and named != upper and (not _by_option_text(after, {upper: options[upper]})
                                         or len(_norm(options[named])) > len(_norm(options[upper]))):
            return "mismatch"
    return "ok"


def _explicit_hits(body: str, valid: set[str], options: Mapping[str, str] | None,
                   invented: Mapping[str, set[str]] | None = None) -> list[tuple[int, str, int]]:
    """(letter position, letter, statement start) of every explicit answer statement, in text order; the letter is
    "?" where the statement's letter comes with another option's words (no answer can be read from it)."""
    hits, references = {}, set()
    for pat in EXPLICIT:
        for m in pat.finditer(body):
            if pat is REFERENCE:
                references.add(m.start(1))
            letter, pos = _letter(m)
            how = _reading(letter, pos, body, options, pat is FOREIGN) if letter.upper() in valid else None
            made_up = (invented or {}).get(letter.upper(), ())
            if how == "ok" and made_up and any(_norm(_following(body, pos)).startswith(t) for t in made_up):
                how = "mismatch"      # "The answer is B. Placenta previa" where B is the invented question's option
            if how:
                hits[pos] = (pos, letter.upper() if how == "ok" else "?", m.start())
    for m in OWN_TEXT.finditer(body) if options else ():
        # "The drug of choice is A. Ethosuximide.", "→ B. D-dimer testing": a letter with its own option's text
        letter, rest = m.group(1), body[m.end():].split("\n")[0]
        if (letter in valid and letter in options and _by_option_text(rest, {letter: options[letter]})
                and not re.search(r"(?<![\w'’])\(?[A-J][\).]\s", rest)):
            hits.setdefault(m.start(1), (m.start(1), letter, m.start()))
    for m in ANSWER_TEXT.finditer(body) if options else ():
        # "The correct answer is Deamidated gliadin peptide.": the option's text as the answer
        k = _by_option_text(body[m.end():m.end() + 300].split("\n")[0].split(". ")[0], options)
        if k and k in valid and not any(h in hits for h in range(m.start(), m.end() + 4)):
            hits[m.end()] = (m.end(), k, m.start())
    if any(pos not in references for pos in hits):
        hits = {pos: hit for pos, hit in hits.items() if pos not in references}
    return sorted(hits.values())


def _explicit(body: str, hits: list[tuple[int, str, int]], options: Mapping[str, str] | None = None) -> str | None:
    """The answer the explicit statements (`_explicit_hits`) give: the only letter they name, or the last when it is a
    final answer or a self-correction; None when they disagree otherwise, when the deciding one pairs its letter with
    another option's words (an earlier such statement is superseded by later ones), or when there are none."""
    if _cut_off(body, options):
        hits = [h for h in hits if FIRM.search(re.split(r"[.!?]\s|\n", body[h[2]:])[0])]
    if not hits or hits[-1][1] == "?" or NO_ANSWER.search(body, hits[-1][0]) or _cut_off_weighing(body, hits[-1]):
        return None       # a garbled statement decides only when it is the last word
    letters = {h[1] for h in hits if h[1] != "?"}
    last = hits[-1]
    if len(letters) == 1:
        return last[1]
    lead = body[max(0, last[2] - 60):last[0]]
    if CORRECTION.search(lead) or re.search(r"final", lead, re.I):
        return last[1]
    # every earlier statement of another letter taken back right after it
    return last[1] if all(RETRACTED.match(body, h[0] + 1) for h in hits if h[1] != last[1]) else None


UNFINISHED = re.compile(r"\b(?:the|a|an|of|with|is|are|was|be|and|or|to|that|which|as|for|in|on|by|because|so|since|"
                        r"suggests?|consistent|than|but|if|when|while|due)\W*$", re.I)


def _cut_off(body: str, options: Mapping[str, str] | None = None) -> bool:
    """Does the reply stop mid-sentence (not at a full stop, a closing bracket or quote, its answer letter or an
    option's whole text: "→ A. Long-acting muscarinic antagonist")?"""
    text = body.rstrip()
    ends_with_option = options and any(_norm(v) and f" {_norm(text[-300:])}".endswith(f" {_norm(v)}")
                                       for v in options.values())
    return (bool(text) and text[-1] not in ".!?)]}\"'*`。！？」" and not re.search(r"\b[A-J]$", text)
            and not ends_with_option)


def _cut_off_weighing(body: str, hit: tuple[int, str, int]) -> bool:
    """Does the reply stop mid-sentence in the sentence of its last statement, which is tentative or still weighing?"""
    if not _cut_off(body):
        return False
    text = body.rstrip()
    tail = text[hit[0] + 1:]
    if re.search(r"[.!?。](?:\s|$)|\n", tail) or not re.search(r"\w", tail):
        return False      # the statement's sentence ended (or the text ends at its letter)
    lead = body[max(body.rfind(". ", 0, hit[2]), body.rfind("\n", 0, hit[2])) + 1:hit[0]]
    return bool(TENTATIVE.search(lead) or WEIGHING.search(tail))


def _leading(body: str, valid: set[str], options: Mapping[str, str] | None) -> str | None:
    if len(re.findall(r"(?m)^\s*\(?[A-J][\)\.:]\s", body)) > 1:
        # a list of options with comments: the answer is the one line marked correct, if exactly one is
        marked = {m.group(1) for m in re.finditer(r"(?m)^\s*\(?([A-J])[\)\.:]\s[^\n]*(?<![Ii]n)[Cc]orrect\b\.?\s*$", body)}
        return marked.pop() if len(marked) == 1 and marked <= valid else None
    for pat in (BRACKETED, BARE):
        m = pat.match(body)
        if m and m.group(1) in valid:
            return m.group(1)
    m = ALONE.search(body)
    if m and (m.group(1) or m.group(2)).upper() in valid:
        return (m.group(1) or m.group(2)).upper()
    m = LETTER_NOT_OTHER.match(body)    # "A, not C: steroids are for refractory shock"
    if m and m.group(1) in valid:
        return m.group(1)
    first, *rest = body.strip().split("\n")
    m = BARE.match(first)         # "D" alone on the first line, then the rationale (and no other lone letter)
    if m and m.group(1) in valid and not any(BARE.match(line) for line in rest):
        return m.group(1)
    m = DASHED.match(body)         # "C — irreversible P2Y12 (ADP) receptor blockade.": the letter, then a gloss
    if (m and m.group(1) in valid and _reading(m.group(1), m.start(1), body, options) == "ok"
            and not re.search(r"\b[A-J]\b|\b(?:or|maybe|perhaps|not)\b", m.group(2).split(".")[0])):
        return m.group(1)
    m = LETTER_THEN_TEXT.match(body)
    if m and m.group(1) in valid and options and m.group(1) in options:
        if _by_option_text(m.group(2).split("\n")[0], {m.group(1): options[m.group(1)]}):
            return m.group(1)
    return None


def _glossed(body: str, valid: set[str], options: Mapping[str, str] | None) -> str | None:
    """The letter opening the reply's last line before a dash and a short gloss ("B — Mobitz I"), unless the gloss
    names another letter, hedges or is another option's text."""
    m = GLOSSED.search(body.rstrip())
    if not m or m.group(1) not in valid or re.search(r"\b[A-J]\b|\b(?:or|maybe|perhaps|not)\b", m.group(0)[m.end(1):]):
        return None
    return m.group(1) if _reading(m.group(1), m.start(1), body, options) == "ok" else None


# an answer statement naming two letters: "Answer: A and D", "答案：A或C", "the answers are B, C"
SEVERAL = re.compile(r"(?:\banswers?\b|" + FOREIGN_WORD + r")[^\n]{0,20}?(?<![\w'’])\(?[A-J]\)?\s*(?:,|and|or|/|&|或|和|y|o|"
                     r"et|ou|und|oder)\s*\(?[A-J](?![\w'’])"
                     r"|\b(?:both|either)\s+(?:options?\s+)?\(?[A-J]\)?\s+(?:and|or)\s+\(?[A-J]\)?(?![\w'’])", re.I)


def _closing_own_text(body: str, valid: set[str], options: Mapping[str, str] | None) -> str | None:
    """The reply's last line, a letter with its own option's whole text ("**B) no**", "D. Chloride"), unless the line
    before it is one too (a list of options)."""
    lines = [line.strip() for line in body.strip().splitlines() if line.strip()]
    if not lines or not options or re.search(r"[—–:\-]$", lines[-1]):
        return None
    if len(lines) > 1 and re.match(r"\W*\(?[A-J][\).:]\s", lines[-2]):
        return None       # the last of a list of options
    m = re.match(r"\W*\(?([A-J])[\).:]\s*(.+?)\W*$", lines[-1])
    ok = m and m.group(1) in valid and m.group(1) in options and _norm(m.group(2)) == _norm(options[m.group(1)])
    return m.group(1) if ok else None


def extract_answer(text: str, options: Mapping[str, str] | None = None) -> str | None:
    """Return the chosen letter (upper case) among `options` (default A-J), or None when no answer can be read."""
    if not text or not text.strip():
        return None
    valid = set(options) if options else set("ABCDEFGHIJ")
    squeezed = squeeze(text)
    raw = answer_segment(squeezed, options)
    body = squeeze(undecorate(raw))
    hits = _explicit_hits(body, valid, options, invented_options(squeezed, options))
    if hits:
        return _explicit(body, hits, options)
    if options and _explicit_hits(body, set("ABCDEFGHIJ"), None):
        return None       # "Answer: E" with four options: a letter that is not among them
    if SEVERAL.search(body) or (options and echoed(body, options)):
        return None       # "Answer: A and D" states no single answer; a reply that only restates the options neither
    bold = {m.group(1) for m in BOLD.finditer(raw) if m.group(1) in valid}
    if len(bold) == 1:
        return bold.pop()
    found = (field_value(body, valid) or checked_option(body, valid) or _leading(body, valid, options)
             or closing_letter(body, valid) or _glossed(body, valid, options) or _closing_own_text(body, valid, options))
    if found:
        return found
    if options:
        end = max(body.rfind("\n"), *(body.rfind(c + " ") for c in ".!?")) + 1
        # a reply that ends where it meant to (not cut off, no reasoning block, not a structured record) may answer by
        # naming one option last
        cut = _cut_off(body, options)
        finished = not (cut or THINK_TAG.search(raw) or re.match(r"\s*(?:[{\[]|```)", body))
        if cut and (WEIGHING.search(body[end:]) or UNFINISHED.search(body)):
            body = body[:end]     # an unfinished last sentence asserts nothing ("... suggests placenta previa; however, the")
        by_text = {_norm(v): k for k, v in options.items()}
        if set(by_text) <= {"yes", "no", "maybe"}:      # a field of a structured reply first ({"verdict": "maybe"})
            word = field_value(body, set(by_text), WORD_FIELD)
            return by_text[word] if word else yes_no_maybe(body, by_text)
        closing = body[-400:]
        undecided = UNDECIDED.search(closing)
        if undecided and not DECIDING.search(closing, undecided.end()):
            return None       # "... not possible to distinguish between A and B. I would recommend further evaluation"
        # the reply's first line is an option's text, perhaps with a gloss in brackets ("Intramuscular methotrexate
        # (single-dose protocol).")
        first = body.strip().splitlines()[0].strip().strip("*").rstrip(".") if body.strip() else ""
        first = re.sub(r"\s*\([^()]*\)\s*\.?$", "", first)
        if _norm(first) in by_text:
            return _by_option_text(first, options)
        return option_text_named(body, options, finished)
    return None


def strip_answer(text: str, options: Mapping[str, str] | None = None) -> str:
    """The reasoning without its answer: drop any invented next question, a `<think>` wrapper's closing part, and
    every sentence that states an answer ("The answer is (B).", "Correct Answer: B because ..."); Ensemble
    Refinement shows stage-1 reasonings this way (as the paper prints them)."""
    valid = set(options) if options else set("ABCDEFGHIJ")
    body = before_new_question(squeeze(text))
    spans = []
    for pos, _, start in _explicit_hits(body, valid, options):
        start = max(body.rfind(c, 0, start) for c in (".", "!", "?", "\n")) + 1
        end = re.compile(r"(?<=[.!?])\s|\n").search(body, pos + 1)
        spans.append((start, end.start() if end else len(body)))
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in reversed(merged):
        body = body[:start] + body[end:]
    return re.sub(r"[ \t]+\n", "\n", re.sub(r"\n{3,}", "\n\n", body)).strip()
