"""Reading an answer given as an option's text rather than its letter (the last step of `clinqa.extract`).

A careful reader matches an option's text loosely but only where the output asserts it:
- words match by their stem ("Delaying surgery until parental consent" is "Delay surgery until parental consent"),
  and after a verdict ("the most likely finding is ...", "... suggests ...") the option's content words may come in
  another order with at most one left out ("an aneurysm of the common iliac artery" is "Common iliac artery
  aneurysm"; "a circular rash with central clearing" is "Circular erythematous rash with central clearing"), but
  never next to their opposite ("decreased lipoprotein lipase activity" is not "Increased lipoprotein lipase
  activity");
- an assertion is a clause that calls the option the answer, the best/most likely/appropriate choice, the
  diagnosis, what the findings suggest or how a drug works; a clause that negates, hedges ("possible", "may",
  "consider", "other") or names several options asserts nothing, and "<something else> is the most appropriate
  next step" competes with any option asserted elsewhere;
- options restated as a list ("A. <A's text>" on two or more lines) assert nothing;
- Roman numerals after "type", "class", "grade" ... are numbers ("Type IV" is "type 4") and an upper-case acronym of
  an option's words is spelled out ("type 4 RTA" is "type 4 renal tubular acidosis");
- in a reply that was not cut off, the last sentences' one option named plainly wins when every other option the
  reply names is negated, hedged or set aside (not "a form of X", not a conditional "If ..., X.");
- the text answers only when it asserts exactly one option, and not when it pairs letters with other options' texts
  ("Option D: Gram stain ..." where Gram stain is C): such a text does not keep its options apart.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Mapping

STOP = set("a an the of to in for with by on at from and or as is are be was were this that which its it "
           "his her their who whom".split())


@lru_cache(maxsize=8192)
def stem(w: str) -> str:
    w = re.sub(r"(?:ing|ed|es|s)$", "", w) if len(w) > 4 and not w.endswith(("ss", "is", "us")) else w
    return w[:-1] if len(w) > 4 and w.endswith("e") else w


LIGHT = {stem(w) for w in "have has patient undergo perform give start administer use get do being".split()}
# how a drug is given, not which: "oral doxycycline 100 mg" is "Doxycycline" unless an option says "Oral ..."
ROUTE = {stem(w) for w in "oral intravenous iv intramuscular im subcutaneous topical low dose high short".split()}
OPPOSITE = [("increas", "decreas"), ("high", "low"), ("hyper", "hypo"), ("left", "right"), ("positiv", "negativ"),
            ("upper", "lower"), ("anterior", "posterior"), ("acut", "chronic"), ("benign", "malignant"),
            ("excess", "deficien"), ("elevat", "reduc"), ("inhibit", "activat"), ("intra", "extra")]
NEGATED = re.compile(r"\b(?:not|no|incorrect|unlikely|rule[sd]?\s+out|excluded?|wrong|avoid\w*|contraindicated|"
                     r"inappropriate|least|worst|unnecessary|never)\b",
                     re.I)
HEDGED = re.compile(r"\b(?:possible|possibly|may|might|could|consider\w*|other|alternatives?|differential|if)\b", re.I)
# "the most likely finding is", "the correct next best step is", "the diagnosis would be": a verdict follows
VERDICT = re.compile(r"\b(?:(?:correct|best|right|final|most\s+(?:likely|appropriate|probable|accurate)|(?<=the\s)"
                     r"(?:appropriate|recommended|preferred|indicated|expected))\s+"
                     r"(?:\w+\s+){0,5}?|\w+\s+of\s+choice\s+)(?:is|would\s+be|will\s+be)\s+|\b(?:suggests?|suggesting|suggestive\s+of|"
                     r"indicates?|indicative\s+of|consistent\s+with|diagnosis\s+of|points?\s+to(?:wards?)?|favou?rs?|means|leads?\s+to|results?\s+in|(?:best\s+)?fits?|(?:classic|typical|characteristic|pathognomonic)\s+(?:for|of)|(?:classic|typical)\s+"
                     r"(?:example|case|presentation|picture|sign|features?|triad)\s+of|"
                     r"(?:meets?|fulfil+s?|satisf(?:y|ies))\s+(?:the\s+)?(?:\w+\s+)?criteria\s+(?:for|of)|"
                     r"(?:should\s+be\s+|is\s+|are\s+)?(?:treated|managed)\s+with)\s+", re.I)
# "... is warfarin", "the answer: warfarin", "... works by cross-linking of DNA"
BEFORE = (r"(?:^| )(?:is|are|be|answer|answer is|choice is|works by|acts by|act by|work by|(?:i|we) (?:would |will |d |ll )?"
          r"(?:prescribe|recommend|choose|select|prefer|go with|opt for|start(?: with)?|begin with|give|pick|add|use|"
          r"try)|"
          r"warrants?|requires?|needs?|calls? for|merits?|(?:stepped up|escalated|switched|changed|moved) to|"
          r"treat (?:it |this |him |her |them )?(?:as|with)|qualif(?:y|ies) for|"
          r"(?:most likely|probably|likely|clearly) (?:has|have|represents?)) "
          r"(?:classic |typical |clearly "
          r"|definitely |probably |likely |most likely )?(?:to )?(?:an |a |the )?")
# "mechanical thrombectomy is indicated", "Reassurance is all that is needed": said of an option, it names it
INDICATED = (r" (?:is|are) (?:clearly |therefore |thus |now |urgently )?(?:indicated|recommended|warranted|required|"
             r"needed|necessary|preferred|first line|the treatment of choice|the way to go|"
             r"all that (?:is|s) (?:needed|required|necessary)|enough|sufficient)\b|"
             r" (?:fits|fits best|best fits|suffices)\b")
# a sentence ends at . ! or ?, but not after an initial: "H. pylori", "E. coli" (after a letter that is no option
# letter it does before a capitalised word: "... is vitamin K. Fresh frozen plasma ...")
SENTENCE_END = r"(?<=[.!?])(?:(?<!\b[A-Z]\.)|(?<=\b[K-Z]\.)(?=\s+[A-Z][a-z]))\s+"
# "rather than atopic dermatitis", "instead of an empiric PPI trial": the rest of the clause names an option set aside
REJECTED_AFTER = re.compile(r"\s*\b(?:rather\s+than|instead\s+of|as\s+opposed\s+to|in\s+preference\s+to)\b.*$"
                            r"|\s*(?:\s[—–-]|—|,)\s*(?:and\s+|but\s+)?not\s.*$",
                            re.I | re.S)
# "... favour BRCA2 over BRCA1", "prefer X over Y": Y is set aside
PREFERRED_OVER = re.compile(r"(\b(?:favou?rs?|favou?ring|prefer\w*|choos\w*|select\w*)\s.*?)\s+over\s.*$", re.I | re.S)
# "Radial nerve injury is the most likely cause", "Aspirin therapy is ...": the option, by what is done with it
KIND_OF_USE = r"(?:injury|injuries|palsy|lesion|damage|therapy|treatment|administration|infusion|use|infection)"
CONDITIONAL = re.compile(r"^\W*(?:(?:but|however|and|so)\W+)?(?:if|unless|assuming|provided\s+that)\b", re.I)
FIRM_VERDICT = re.compile(r"correct|best|right|final|most|choice|diagnosis|criteria", re.I)
# the reason given for a statement, whose own negations and hedges do not undo it
REASON = re.compile(r"\b(?:because|since|given\s+that|due\s+to|as\s+it|as\s+the)\b", re.I)
# "a more specific form of warfarin", "a complication of pancreatitis": something else, named by its relation to an
# option
RELATIVE = re.compile(r"\b(?:form|type|kind|variant|subtype|cause|complication|sign|symptom|mimic|effect|feature|"
                      r"relative|analogu?e?|derivative|precursor|risk|history|mechanism|part|consequence|sequela|"
                      r"manifestation|alternative)s?\s+(?:of|to)\b", re.I)
# "... make acute interstitial nephritis the diagnosis"
THE_VERDICT = r" (?:the|as the) (?:diagnosis|answer|best|most likely|likely|culprit|cause|treatment)\b"
# "...: aspirin and clopidogrel.", "= subacute granulomatous thyroiditis (de Quervain).": an option's whole text closing
# a clause after a colon, an equals sign or a dash (not after an option's label: "Option A: Aspirin")
SEPARATOR = re.compile(r"[:=]|\s[—–-]\s|—")
ARTICLES = {"a", "an", "the"}
PRONOUNS = set("this it that which these those so thus therefore hence then here there one".split())
# "warfarin is the best ...", "delaying surgery ... is a reasonable choice"
AFTER = (r" (?:is|are) (?:by far |clearly |probably |almost certainly )?(?:the|a|an) (?:best|correct|right|"
         r"most (?:likely|appropriate|probable|accurate|effective)|likeliest|answer|treatment|drug|diagnosis|next|"
         r"reasonable|appropriate|preferred|culprit|(?:classic|typical|underlying) (?:cause|lesion|diagnosis))\b")
# "... is the classic lesion" names an option, but something else said to be classic does not compete with the answer
TYPICAL = re.compile(r"\b(?:classic|typical|underlying)\s+(?:cause|lesion|diagnosis)\b", re.I)


# "Option D: Gram stain ...", "(B) Clopidogrel", "C) ..." at a line start: a letter labelling a text
LABELLED = re.compile(r"(?:\b(?:option|choice)\s*\(?|^\s*\(?|\()([A-J])(?:\)|\s*[:.\-—–])\s*([^\n]{3,})", re.M | re.I)


ROMAN = {r: str(i) for i, r in enumerate("i ii iii iv v vi vii viii ix x xi xii".split(), 1)}
# "Type IV" is "type 4", "Mobitz II" is "mobitz 2", "cranial nerve VII" is "cranial nerve 7"
NUMBERED = re.compile(r"\b(type|class|grade|stage|phase|degree|factor|mobitz|nerve|cn|group|level|zone)[\s-]+"
                      r"(xii|xi|x|ix|viii|vii|vi|v|iv|iii|ii|i)\b")


@lru_cache(maxsize=8192)
def norm(s: str) -> str:
    """Lower case letters and digits, accents dropped ("Ménière" is "meniere"), "plus", "&" and " + " read as
    "and", a Roman numeral after a numbered kind read as a number ("Type IV" is "type 4"), everything else one
    space."""
    if not s.isascii():
        s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
    s = re.sub(r"\bplus\b|&|\s\+\s", " and ", s.lower())
    s = NUMBERED.sub(lambda m: f"{m.group(1)} {ROMAN[m.group(2)]}", s)
    return re.sub(r"[^a-z0-9]+", " ", s).strip()


PREFIXES = set("post pre non anti hyper hypo intra extra sub trans peri para pseudo co semi multi poly inter micro "
               "macro".split())


@lru_cache(maxsize=8192)
def _phrase(option: str) -> str:
    """A regex for the option's text, each word matched by its stem ("delay" matches "delaying"), an article or "of
    (the)" allowed between words ("obtain a blood culture" matches "Obtain blood cultures", "carcinoma of the thyroid"
    matches "Carcinoma thyroid")."""
    words = norm(option).split()
    pieces = [re.escape(w) + r"(?!\w)" if _is_id(w) else re.escape(stem(w)) + r"\w*" for w in words]
    out = pieces[0] if pieces else ""
    for w, piece in zip(words, pieces[1:]):
        # "post streptococcal" is also "poststreptococcal"; "number needed to treat 25" is "... is 25" or "= 25"
        out += (" ?" if w in PREFIXES else " (?:(?:a|an|the|of|of the|of a|in the|and|is|are|equals?) )?") + piece
    return out


def _is_id(word: str) -> bool:
    """A short or numbered word ("E" in "Hepatitis E", "II", "B12") tells options apart: it must match exactly."""
    return len(word) <= 2 or any(c.isdigit() for c in word)


def _words(s: str) -> list[str]:
    """Stems of the words, without articles and possessives: what an option's text must equal when it stands on its
    own ("Paget's disease of bone" is "Paget disease of bone")."""
    return [stem(w) for w in norm(re.sub(r"['’]s\b", "", s)).split() if w not in ARTICLES]


def _equals(s: str, options: Mapping[str, str]) -> str | None:
    """The option whose whole text `s` is (words by stem, articles ignored), also with one word before it that is not
    a negation or the opposite of one of its words ("Start metformin", "acute hepatitis B"), or without the words that
    every option shares ("Type IV" among types of hypersensitivity), else None."""
    # "It's mitochondrial", "so proceed with surgery", "start with a dexamethasone suppression test"
    have = _words(re.sub(r"^\W*(?:it|this|that)(?:['’]s|\s+is)\s+|^\W*(?:so|thus|hence|therefore|then)\W+"
                         r"|^\W*(?:start|begin|treat|go|proceed|continue|go\s+ahead|move\s+on|follow\s+up)\s+with\s+"
                         r"|^\W*(?:arrange|schedule|request|book|refer\s+(?:her|him|them|the\s+patient)\s+for)\s+(?:an?\s+|the\s+)?"
                         r"|^\W*(?:she|he|they|the\s+patient|this\s+patient)\s+(?:should|must|needs\s+to|will\s+need\s+to)\s+"
                         r"(?:receive|get|be\s+given|have|undergo)\s+(?:an?\s+|the\s+)?",
                         "", s, flags=re.I))
    exact = [k for k, v in options.items() if have and have == _words(v)]
    if exact:
        return exact[0] if len(exact) == 1 else None
    verbs = LIGHT | {"start", "give", "prescrib", "choos", "perform", "obtain", "order"}

    def same(want: list[str]) -> bool:
        if not want or not have:
            return False
        if have == want[1:] and want[0] in verbs:
            return True       # "lumbar puncture" for "Perform a lumbar puncture"
        extra = have[0] if have[1:] == want and len(have[0]) > 2 and have[0].isalpha() else None
        return bool(extra) and extra not in {"no", "non", "not", "anti", "without", "possibl", "other", "and", "or", "nor",
                                             "also", "but", "plus", "then", "with"} and not any(
            extra.startswith(x) and any(w.startswith(y) for w in want) for a, b in OPPOSITE for x, y in ((a, b), (b, a)))
    said = [k for k, v in options.items() if same(_words(v))]
    if not said:      # "Type IV" for "Type IV hypersensitivity" when every option is a type of hypersensitivity
        shared = set.intersection(*(set(_words(v)) for v in options.values())) if len(options) > 2 else set()
        only = [w for w in have if w not in shared]
        said = [k for k, v in options.items() if only and only == [w for w in _words(v) if w not in shared]]
    return said[0] if len(said) == 1 else None


def compound(text: str, option: str, start: bool = True) -> bool:
    """Is the option's text, at the start of `text` (or anywhere in it), the first part of a hyphenated word
    ("heparin-induced thrombocytopenia" for "Heparin")?"""
    lead = r"^\W*(?:(?:a|an|the)\s+)?" if start else r"(?<![\w-])"
    last = norm(option).split()[-1]
    return bool(re.search(rf"{lead}{_phrase(option)}-[^\W\d_]", text.lower())) and f"{last}-" not in option.lower()


def content_words(s: str) -> list[str]:
    return [stem(w) for w in norm(s).split() if w not in STOP]


def _covers(words: list[str], option: str) -> bool:
    """Do `words` (a verdict's first content words) name the option: all of its content words but at most one (and at
    least two), none of them beside its opposite?"""
    want = set(content_words(option))
    while words and (words[0] in LIGHT or (words[0] in ROUTE and words[0] not in want)):
        words = words[1:]
    starts = lambda w: any(w.startswith(x) or x.startswith(w) for x in want)
    if (len(want) > 1 and words[1:] and not starts(words[0]) and set(words[1:len(want) + 1]) == want
            and not NEGATED.match(words[0])):
        words = words[1:]     # "hypertrophic pyloric stenosis" is "Pyloric stenosis": one modifier, then all its words
    if not words or not starts(words[0]):
        return False      # "a more specific form of photodermatitis" is not photodermatitis
    have = set(words[:len(want) + 2])
    ids = {w for w in want if _is_id(w)}
    if not ids <= have:
        return False      # "vitamin B6 deficiency" is not "Vitamin B12 deficiency", though one word may be left out
    for a, b in OPPOSITE:
        for x, y in ((a, b), (b, a)):
            if any(w.startswith(x) for w in want) and any(w.startswith(y) for w in have):
                return False
    hit = ids | {w for w in want if any(h.startswith(w) or w.startswith(h) for h in have if len(h) > 2)}
    return len(hit) >= min(len(want), max(2, len(want) - 1)) and bool(want)


def _mentions(clause: str, options: Mapping[str, str]) -> set[str]:
    """The options whose text the clause contains, except one found only inside another's longer text ("aspirin" in
    "aspirin and clopidogrel")."""
    s = f" {norm(clause)} "
    spans = {k: [m.span() for m in re.finditer(rf"(?<= ){_phrase(v)}(?= )", s)] for k, v in options.items() if norm(v)}
    inside = lambda a, b: b[0] <= a[0] and a[1] <= b[1] and a != b
    return {k for k, found in spans.items()
            if any(not any(inside(a, b) for j, other in spans.items() if j != k for b in other) for a in found)}


def mislabelled(body: str, options: Mapping[str, str]) -> bool:
    """Does the text pair a letter with another option's text ("Option D: Gram stain ...", "(B) Clopidogrel" where
    that is C's text)?"""
    for m in LABELLED.finditer(body):
        letter, after = m.group(1).upper(), f" {norm(m.group(2))} "
        if letter not in options or re.match(rf" {_phrase(options[letter])} ", after):
            continue
        if any(re.match(rf" {_phrase(v)} ", after) for k, v in options.items() if k != letter and norm(v)):
            return True
    return False


# "A. Trigeminal nerve" on a line of its own: an option restated under its letter
LISTED = re.compile(r"(?m)^[ \t]*(?:[-*+][ \t]*)?\(?([A-J])[\).:][ \t]*([^\n]+?)[ \t]*$")


def unlisted(body: str, options: Mapping[str, str]) -> str:
    """The text without the options it restates as a list (two or more lines "A. <A's text>"): a list asserts none."""
    listed = [m for m in LISTED.finditer(body) if m.group(1) in options
              and _words(m.group(2).rstrip(".")) == _words(options[m.group(1)])]
    if len(listed) < 2:
        return body
    for m in reversed(listed):
        body = body[:m.start()] + body[m.end():]
    return body


def expand_acronyms(body: str, options: Mapping[str, str]) -> str:
    """The text with an upper-case acronym of three or more letters spelled out as the option words it abbreviates
    ("type 4 RTA" is "type 4 renal tubular acidosis" when an option says "Type 4 renal tubular acidosis"); an acronym
    that would spell out two different ways is left as it is."""
    spelled: dict[str, set[str]] = {}
    for text in options.values():
        words = [w for w in norm(text).split() if w not in ARTICLES]
        for i in range(len(words)):
            for j in range(i + 3, min(len(words), i + 6) + 1):
                run = words[i:j]
                if all(w[0].isalpha() for w in run) and not any(w in {"of", "and", "or", "with"} for w in run):
                    spelled.setdefault("".join(w[0] for w in run).upper(), set()).add(" ".join(run))
    for acronym, runs in spelled.items():
        if len(runs) == 1 and not any(acronym.lower() in norm(v).split() for v in options.values()):
            body = re.sub(rf"(?<![\w-]){acronym}s?(?![\w-])", next(iter(runs)), body)
    return body


# "a short course of", "a single 500 mg IM dose of", "a trial of": how much of an option is given, not another option
DOSING = re.compile(r"\s(?:an?\s+|one\s+)?(?:(?:short|single|brief|one-time|empiric(?:al)?|\d+[- ]day|[\d.,]+\s*"
                    r"(?:mg|g|mcg|µg|units?|ml|mL)(?:/\w+)?|IM|IV|SC|PO|intramuscular|intravenous|oral|subcutaneous)\s+)*"
                    r"(?:course|dose|trial|regimen)\s+of\s+",
                    re.I)


def listing(sentence: str, options: Mapping[str, str]) -> bool:
    """Does the sentence list options one after another ("vitamin A, vitamin D, vitamin E and vitamin K")? A list
    names options; it asserts none of them."""
    s = " " + re.sub(r"[^a-z0-9,]+", " ", sentence.lower()).replace(" ,", ",")
    return any(re.search(rf" {_phrase(a)}(?:,\s*(?:(?:and|or)\s+)?|\s+(?:and|or)\s+)(?:(?:the|a|an)\s+)?{_phrase(b)}(?!\w)", s)
               for i, a in options.items() for j, b in options.items() if i != j and norm(a) and norm(b)
               and not any(f" {norm(a)} " in f" {norm(c)} " and f" {norm(b)} " in f" {norm(c)} "
                           for c in options.values()))     # "furosemide and spironolactone" may be one option


def option_text_named(body: str, options: Mapping[str, str], finished: bool = False) -> str | None:
    """The option whose text is the only one the output asserts, else None (see the module docstring). In a
    `finished` reply (not cut off) an option named plainly in the last sentence counts as asserted when every other
    option the reply names is negated, hedged or set aside ("Vasa previa is wrong ...; placenta previa is also wrong
    ... Uterine rupture fits the prior classical C-section ...")."""
    if mislabelled(body, options):
        return None
    body = expand_acronyms(unlisted(body, options), options)
    # "(pancreatic protocol)", "(e.g., 30-40 mg daily)": a bracketed gloss that is no option's words says nothing
    body = re.sub(r"\s*\(([^()\n]{1,160})\)", lambda m: m.group(0) if any(
        f" {norm(m.group(1))} " in f" {norm(v)} " for v in options.values()) else "", body)
    body = DOSING.sub(" ", body)      # "a short course of oral prednisone" is "oral prednisone"
    for v in options.values():        # "increased calcium, decreased phosphate, and increased PTH" is one option's text
        if "," in v:
            words = [re.escape(stem(w)) + r"\w*" for w in norm(v).split()]
            body = re.sub(r"(?i)\b" + r"[\s,]+(?:and\s+)?".join(words) + r"\b",
                          lambda m: re.sub(r",\s*(?:and\s+)?", " ", m.group(0)), body)
    named = set()
    naming: list[tuple[bool, set[str], str]] = []      # (plain, options named, clause) for each clause naming some
    body = re.sub(r"(?<!\w)(?:i\.\s?e\.|namely)\s*,?|,\s*that is,", "\n:", body)      # "..., i.e., <option>"
    # a list of options, or a conditional sentence ("If she meets the criteria, the diagnosis would be X"), asserts none
    clauses = [(clause, listed) for sentence in re.split(SENTENCE_END + r"|\n", body)
               for listed in [listing(sentence[:600], options) or bool(CONDITIONAL.search(sentence[:600]))]
               for clause in re.split(r"[,;](?![^()]*\))", sentence)]
    for clause, listed in clauses:
        clause = clause[:600]         # a longer "clause" is degenerate text; its start is enough (and stays linear)
        # "... points to X rather than Y", "... favour X over Y": Y is set aside, not asserted
        clause = PREFERRED_OVER.sub(r"\1", REJECTED_AFTER.sub("", clause))
        claim = REASON.split(clause)[0]      # "favours Y because the mass does not cross the midline" favours Y
        plain = not (NEGATED.search(claim) or HEDGED.search(claim) or "?" in clause)
        found = {k for k in _mentions(clause, options) if not compound(clause, options[k], start=False)}
        if found:
            naming.append((plain, found, clause))
        if not plain or listed:
            continue
        s = f" {norm(clause)} "
        separators = list(SEPARATOR.finditer(clause))
        if separators:
            head, tail = clause[:separators[-1].start()], clause[separators[-1].end():]
            tail = re.sub(r"\s*\([^()]*\)\s*\.?\s*$|\s*[.!]?\s*$", "", tail)
            if not re.search(r"(?:\b(?:option|choice|options|choices)|^\W*\(?[A-Ja-j]\)?)\W*$", head.strip(), re.I):
                named.update(k for k in [_equals(tail, options)] if k)
        subject = re.match(rf" ((?:\w+ )*?){AFTER[1:]}", s)
        if len(_mentions(subject.group(1) if subject else clause, options)) > 1:
            continue
        indicated = re.match(rf" ((?:\w+ )*?){INDICATED[1:]}", s)
        if indicated:
            named.update(k for k, v in options.items() if k in _mentions(indicated.group(1), options)
                         and re.search(rf" {_phrase(v)} (?:alone |only )?$", f" {indicated.group(1)}"))
        for k, v in options.items():
            if (len(norm(v)) >= 3 and k in found
                    and re.search(rf"{BEFORE}{_phrase(v)} |{_phrase(v)}{THE_VERDICT}", s)):
                named.add(k)
        if subject:       # "<subject> is the most appropriate ...": an option, or something else that competes
            said = [k for k, v in options.items() if k in _mentions(subject.group(1), options)
                    and re.search(rf" {_phrase(v)} (?:alone |only |{KIND_OF_USE} )?$", f" {subject.group(1)}")]
            part = content_words(subject.group(1))      # "Delaying surgery is ...": part of one option's text
            said = said or [k for k, v in options.items() if len(part) >= 2 and set(part) <= set(content_words(v))]
            own = set(subject.group(1).split()) - PRONOUNS and not TYPICAL.search(clause)
            named.update(said if len(said) == 1 else ["?"] if own else [])
        for m in VERDICT.finditer(clause):
            if not finished and not FIRM_VERDICT.search(m.group(0)):
                continue      # a reply cut off mid-reasoning: "... classic for X" is still being weighed
            n = max(len(content_words(v)) for v in options.values()) + 3
            words = content_words(clause[m.end():m.end() + 400])[:n]
            covered = [k for k, v in options.items() if _covers(words, v) and not compound(clause[m.end():], v)]
            covered = [k for k in covered      # "hepatitis E" covers "Hepatitis A" too, whose words are all in it
                       if not any(set(content_words(options[k])) < set(content_words(options[j])) for j in covered)]
            if len(covered) == 1:
                named.add(covered[0])
    lines = [line for line in body.strip().splitlines() if line.strip()]
    opening = re.match(r"\W{0,10}(.+?)\s*(?:[:—–]|\s-\s|\.\s)", lines[0][:300] + " ") if lines else None
    leads = [k for line in lines for k in [_equals(re.split(r"\s*(?:[:—–]|\s-\s|\.\s)", line[:300] + " ")[0], options)]
             if k]
    if opening and len(leads) == 1 and _equals(opening.group(1), options):
        named.add(leads[0])       # "Renal artery stenosis — the bruit ... clinch it.": the answer first, then why
    # "Perform a lumbar puncture." closing the reply, or closing its last sentence after a comma ("For her first
    # episode, start sertraline.")
    last = re.split(SENTENCE_END + r"|\n", body.strip())[-1]
    closing = re.sub(r"\s*\([^()]*\)\s*\.?$|[.!]$", "", last.strip())
    tail = closing.split(",")[-1]
    imperative = ((not NEGATED.search(last) and _equals(closing, options))
                  or (not HEDGED.search(last) and not NEGATED.search(tail) and _equals(tail, options)))
    if imperative and finished and not listing(last, options):
        named.add(imperative)
    sentences = [x for x in re.split(SENTENCE_END + r"|\n", body.strip()) if x.strip()]
    plainly = {k for plain, found, _ in naming if plain for k in found}
    if (finished and not named and naming and naming[0][0] and len(plainly) == 1 and sentences
            and naming[0][2].strip() in sentences[0] and not HEDGED.search(sentences[0])
            and not RELATIVE.search(naming[0][2])):
        named.update(naming[0][1])    # the answer first, then why ("This presentation is most consistent with X. ...")
    last = [x for x in sentences[-2:] if naming and naming[-1][2].strip() in x]
    if (finished and not named and last and naming[-1][0] and not HEDGED.search(last[-1])
            and not RELATIVE.search(naming[-1][2]) and len(plainly) == 1):
        named.update(naming[-1][1])   # the last word on the options names one, and no other is named but negated
    return named.pop() if len(named) == 1 and "?" not in named else None
