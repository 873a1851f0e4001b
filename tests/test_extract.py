"""Answer extraction on the formats models write, including the ones that biased results towards option A."""

import json
from pathlib import Path

import pytest

from clinqa.extract import extract_answer, strip_answer

ABCD = {"A": "aspirin", "B": "heparin", "C": "warfarin", "D": "alteplase"}
YNM = {"A": "yes", "B": "no", "C": "maybe"}
INFECT = {"A": "Vancomycin", "B": "Metronidazole", "C": "Fidaxomicin", "D": "Observation"}


@pytest.mark.parametrize("text,expected", [
    ("The answer is (C).", "C"),
    ("Answer: C) warfarin", "C"),
    ("**B**", "B"),
    ("the answer is (c)", "C"),
    (" (D)", "D"),
    (" C", "C"),
    ("Final answer: b.", "B"),
    ("Option B is correct", "B"),
    ("So the answer is A. On reflection, the answer is D.", "D"),         # the last statement wins
    ("<think>the answer is A</think>Final answer: (B)", "B"),             # reasoning block ignored
    ("The answer is a bit unclear to me.", None),                          # article 'a' is not option A
    ("Answer: E", None),                                                   # not an option
    ("I am not sure.", None),
    ("", None),
    ("warfarin", "C"),                                                     # the option text itself
    ("The answer is warfarin.", "C"),
    ("C. warfarin, because it is an oral anticoagulant", "C"),             # a formatted option with its own text
])
def test_letters(text, expected):
    assert extract_answer(text, ABCD) == expected


@pytest.mark.parametrize("text", [
    "A 45-year-old man presents with chest pain. The history suggests an acute coronary syndrome.",
    "A junior orthopaedic surgery resident is completing a carpal tunnel repair. The key issue is disclosure.",
    "A. The patient is a 45-year-old man with chest pain",
])
def test_article_a_is_not_option_a(text):
    """MedQA stems start with the article 'A'; a CoT summary that starts that way is no answer, not option A."""
    assert extract_answer(text, ABCD) is None


def test_c_difficile_is_not_option_c():
    assert extract_answer("C. difficile infection is likely given recent antibiotics.", INFECT) is None
    assert extract_answer("C. difficile infection is likely. The answer is (B).", INFECT) == "B"


@pytest.mark.parametrize("text,expected", [
    ("(C) warfarin looks plausible at first.\n\nThe correct answer is: (D).", "D"),   # later explicit beats leading
    ("The correct answer is: (C)", "C"),
    ("Considering the options, the answer is:\nD) alteplase", "D"),
    ("Taking all this into account the answer would be:\nC)", "C"),
    ("so the answer is: c", "C"),
    ("the answer is: b because heparin acts at once", "B"),
    ("The best answer is option 3 (C).", "C"),
    ("Therefore the correct choice is 'B'.", "B"),
    ("Between these, I'd choose B.", "B"),
    ("I would go with option D here.", "D"),
    ("Of the listed drugs, the most appropriate is (C).", "C"),
    ("The most appropriate next step in management is (B) heparin.", "B"),
    ("Correct option: (a) aspirin", "A"),
    ("**Answer: B**", "B"),
    ("ANSWER: D", "D"),
    ("The answer is definitely C.", "C"),
])
def test_answer_statements(text, expected):
    assert extract_answer(text, ABCD) == expected


def test_invented_next_question_does_not_override_the_answer():
    text = ("Heparin acts immediately. The answer is (B).\n\nQuestion: A 30-year-old woman has a headache. "
            "Which drug?\n(A) aspirin\n(B) heparin\nAnswer: (D)")
    assert extract_answer(text, ABCD) == "B"
    # a restated question before the model's own answer is not an invented one
    assert extract_answer("Question: which anticoagulant?\nAnswer: (C)", ABCD) == "C"


@pytest.mark.parametrize("text", ["Option A is incorrect because aspirin is an antiplatelet.",
                                  "It could be B or C; I cannot decide.", "None of the above."])
def test_no_answer_rather_than_a_guess(text):
    assert extract_answer(text, ABCD) is None


@pytest.mark.parametrize("text,expected", [
    ("Yes, mitochondria are involved.", "A"), ("The answer is no.", "B"), ("maybe", "C"),
    ("Answer: (B)", "B"), ("It depends: yes in some cases, no in others.", None)])
def test_pubmedqa_words(text, expected):
    assert extract_answer(text, YNM) == expected


LPL = {"A": "Decreased glucose uptake by adipocytes", "B": "Decreased activity of hormone sensitive lipase",
       "C": "Decreased proteolysis", "D": "Increased lipoprotein lipase activity"}
FLANK = {"A": "Renal artery stenosis", "B": "Benign prostatic hyperplasia", "C": "Common iliac artery aneurysm",
         "D": "Urethral stricture"}
MECH = {"A": "Inhibition of proteasome", "B": "Hyperstabilization of microtubules", "C": "Generation of free radicals",
        "D": "Cross-linking of DNA"}
CONSENT = {"A": "Get consent from the patient's brother", "B": "Get consent from the patient",
           "C": "Perform emergency laparotomy", "D": "Delay surgery until parental consent"}


@pytest.mark.parametrize("options,text,expected", [
    # the option's words by their stem, in another order, or with one left out, after a verdict
    (CONSENT, "Delaying surgery until parental consent is the most appropriate next best step.", "D"),
    (FLANK, "The pulsatile mass compressing the ureter suggests an aneurysm of the common iliac artery.", "C"),
    (CONSENT, "The correct next best step is to have the patient undergo emergency laparotomy.", "C"),
    (MECH, "Several drugs can, but the classic one is cisplatin, which works by cross-linking of DNA.", "D"),
    # never beside its opposite, never hedged, never a part of a longer phrase, never two verdicts
    (LPL, "So the most likely diagnosis would be decreased lipoprotein lipase activity.", None),
    (FLANK, "The other possible cause is an aneurysm of the common iliac artery.", None),
    (ABCD, "The correct answer is a more specific form of warfarin.", None),
    (CONSENT, "Delaying surgery until parental consent is the most appropriate next best step.\n\n"
              "Dedicated laparotomy is the most appropriate next best step.", None),
    # letters paired with other options' texts: the text does not keep its options apart
    (FLANK, "The findings suggest a urethral stricture. Option A: Benign prostatic hyperplasia is common.", None),
])
def test_option_text_asserted(options, text, expected):
    assert extract_answer(text, options) == expected


@pytest.mark.parametrize("text,expected", [
    ("A) heparin\n\nThe answer is A) heparin. Heparin is a protein.", None),     # letter and text disagree
    ("The answer is (C) heparin.\n\nThe answer is (D) alteplase.\n\nThe answer is (C) aspirin.", None),
    ("The correct answer is (C) alteplase. The correct answer is (C).", "C"),   # a later clean statement decides
    ("Answer: (C)\n\nThe correct answer is heparin.", None),                    # letter and option text disagree
    ("The correct answer is warfarin. Answer: (C)", "C"),
])
def test_statements_with_option_text(text, expected):
    assert extract_answer(text, ABCD) == expected


def test_long_whitespace_runs_are_read_not_backtracked():
    """Small models emit long runs of spaces and newlines; the patterns once backtracked on them for minutes."""
    text = "The answer is:" + " \n" * 3000 + "(B) heparin"
    assert extract_answer(text, ABCD) == "B"
    assert extract_answer("answer" + " \t\n" * 3000 + "none", ABCD) is None


def _corpus(name):
    path = Path(__file__).parent / "fixtures" / f"extraction_{name}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_hand_labelled_corpus_is_read_correctly():
    """Real SmolLM2 outputs and documented styles of other model families, labelled by hand (tests/fixtures); a
    floor against regressions at the accuracy reached (benchmarks/extraction.py prints the detail)."""
    items = _corpus("corpus")
    right = sum(extract_answer(it["text"], it["options"]) == it["label"] for it in items)
    assert len(items) >= 350 and right / len(items) >= 0.99
    wrong_letter = [it["id"] for it in items if (got := extract_answer(it["text"], it["options"])) is not None
                    and got != it["label"]]
    assert len(wrong_letter) / len(items) <= 0.03, wrong_letter     # guesses are rarer than "no answer"


@pytest.mark.parametrize("name,floor,ceiling",
                         [(name, 0.97, 0.01) for name in ["new", "heldout"] + [f"heldout{n}" for n in range(2, 40)]
                          if name not in ("heldout29", "heldout32")]
                         + [("heldout29", 0.93, 0.0125), ("heldout32", 0.97, 0.025)])
def test_issue_24_corpora_are_read_with_few_wrong_letters(name, floor, ceiling):
    """Issue 24's corpora (outputs in the styles the reader once missed, each labelled by hand before the reader ran
    on it): at least 97% read right and at most 1% read as a wrong letter. heldout29's and heldout32's bounds are their
    first readings (75 of 80 and one wrong letter; 78 of 80 and two wrong letters): rounds 7 and 8 were not corrected
    after, nor was round 10 (heldout37-39)."""
    items = _corpus(name)
    reads = [extract_answer(it["text"], it["options"]) for it in items]
    right = sum(r == it["label"] for r, it in zip(reads, items))
    wrong_letter = [it["id"] for r, it in zip(reads, items) if r is not None and r != it["label"]]
    assert len(items) >= 38 and right / len(items) >= floor
    assert len(wrong_letter) / len(items) <= ceiling, wrong_letter


ACS = {"A": "Aspirin", "B": "Clopidogrel", "C": "Aspirin and clopidogrel", "D": "Warfarin"}
HTN = {"A": "Hypertension", "B": "Portal hypertension", "C": "Pulmonary hypertension", "D": "Intracranial hypertension"}
NEXT = {"A": "Obtain a CT scan of the head", "B": "Perform a lumbar puncture", "C": "Start intravenous ceftriaxone",
        "D": "Do not treat"}


@pytest.mark.parametrize("options,text,expected", [
    (ACS, "After a stent the patient needs dual antiplatelet therapy: aspirin and clopidogrel.", "C"),
    (ACS, "Aspirin alone is the best option here.", "A"),             # not C, which contains it
    (HTN, "Ascites and caput medusae point to portal hypertension.", "B"),
    (HTN, "So my answer: PULMONARY HYPERTENSION.", "C"),
    (NEXT, "No focal signs, so imaging is not required first.\n\nPerform a lumbar puncture.", "B"),
    (NEXT, "Don't wait: the next step is to start intravenous ceftriaxone.", "C"),
    (HTN, "This is not portal hypertension.", None),                    # negated, and A is only inside B's text
    (ACS, "Warfarin is wrong here.", None),
    (ACS, "We can rule out warfarin.", None),
    (HTN, "Either portal hypertension or pulmonary hypertension fits.", None),
])
def test_option_text_with_substrings_and_negation(options, text, expected):
    assert extract_answer(text, options) == expected


@pytest.mark.parametrize("text,expected", [
    ("综上所述，正确答案是 C。", "C"), ("所以选B。", "B"), ("【答案】D", "D"), ("答案：A或C", None),
    ("La respuesta es A.", "A"), ("Por lo tanto, la opción correcta es (B).", "B"), ("Podría ser B o C.", None),
    ("Réponse : C", "C"), ("La bonne réponse est donc la B.", "B"), ("Die richtige Antwort ist D.", "D"),
    ("A resposta é (C).", "C"), ("A alternativa correta é a D.", "D"),      # the article "A" is not option A
    ("The answer is Ⓒ.", "C"), ("正确答案：③", "C"), ("The correct one is option (b).", "B"),
])
def test_other_languages_and_notations(text, expected):
    assert extract_answer(text, ABCD) == expected


@pytest.mark.parametrize("text,expected", [
    ('{"reasoning": "...", "choice": "C"}', "C"), ('{"final_answer": "b", "confidence": 0.7}', "B"),
    ("```yaml\nreasoning: fast onset\nselected_option: D\n```", "D"), ('{"result": {"option": "A"}}', "A"),
    ('{"eliminated": ["A", "B"], "pick": "D"}', "D"), ('{"first_impression": "A", "final": "C"}', "C"),
    ('{"ruled_out": "B"}', None), ('{"answer": ["B", "D"]}', None), ('{"answer": "B or C"}', None),
    ('{"reasoning": "Heparin acts at once, so', None),
])
def test_any_single_letter_field_of_a_structured_reply(text, expected):
    assert extract_answer(text, ABCD) == expected


@pytest.mark.parametrize("text,expected", [
    ("**Answer:** **C**", "C"), ("__Answer__: __A__", "A"), ("Final answer → D", "D"), ("Therefore ⇒ B", "B"),
    ("Heparin acts at once.\n\nVerdict: B", "B"), ("**D** is the best choice here.", "D"), ("🎯 Answer: A", "A"),
    ("Heparin (B) ← this one", "B"), ("A ✗\nB ✓\nC ✗\nD ✗", "B"), ("A: ❌  B: ❌  C: ✅  D: ❌", "C"),
    ("It's between A and C. On balance, C.", "C"), ("Probably D. (Confidence: moderate.)", "D"),
    ("Between **B** and **D**, it's hard to say.", None), ("Final answer: C/D", None),
    ("I'd go with B, but D is equally likely.", None),
])
def test_decoration_is_stripped_before_the_final_line_is_read(text, expected):
    assert extract_answer(text, ABCD) == expected


@pytest.mark.parametrize("text,expected", [
    ("In conclusion, yes: statins lowered mortality.", "A"), ("We conclude that no, it did not help.", "B"),
    ("The evidence supports a 'yes' answer.", "A"), ("Taken together, the results are inconclusive — maybe.", "C"),
    ("The evidence does not support this.", "B"), ("In conclusion, no significant difference was found.", None),
    ("The evidence supports that screening improves outcomes.", None),      # a restatement: the question is unseen
])
def test_pubmedqa_conclusions_in_words(text, expected):
    assert extract_answer(text, YNM) == expected


@pytest.mark.parametrize("text,expected", [
    ("Step 2: the answer is likely (A) because of the leads; however, we should check for", None),
    ("2. First-line: a benzodiazepine such as aspirin (option A).\n3. If seizures persist,", None),
    ("The presentation suggests option C, but we need to consider whether the", None),
    ("So the answer is", None),
    ("The answer is (C) warfarin.\n\nExplanation: warfarin is oral and", "C"),   # a firm answer, then the cut
])
def test_a_reply_cut_off_mid_reasoning_gives_no_answer(text, expected):
    assert extract_answer(text, ABCD) == expected


TYPES = {"A": "Type I hypersensitivity", "B": "Type II hypersensitivity", "C": "Type III hypersensitivity",
         "D": "Type IV hypersensitivity"}
ABX = {"A": "Vancomycin", "B": "Vancomycin and cefepime", "C": "Metronidazole", "D": "H. pylori eradication therapy"}


# what heldout5's first reading missed, one case or more per class
HELDOUT5_CLASSES = [
    # a markdown task list: the ticked box is the answer, not the last line
    (ABCD, "- [ ] A. aspirin\n- [ ] B. heparin\n- [x] C. warfarin\n- [ ] D. alteplase", "C"),
    # the options restated as a list, nothing chosen
    (ABCD, "A. aspirin\nB. heparin\nC. warfarin\nD. alteplase", None),
    # a letter alone on the first line, then the rationale
    (ABCD, "B\n\nWhy: it acts at once and can be reversed.", "B"),
    # a verdict word, a colon and a letter, then a justification
    (ABCD, "Pick: c — long-term oral anticoagulation.", "C"),
    (ABCD, "Conclusion: A 45-year-old man with chest pain.", None),
    # hedged and self-corrected choices
    (ABCD, "I'm leaning towards B given the renal function.", "B"),
    (ABCD, "Answer: A\n\nScratch that, I misread the INR. Correcting myself, the answer is C.", "C"),
    # a letter with a longer option's text that contains its own is garbled
    (ABX, "The answer is (A) Vancomycin and cefepime.", None), (ABX, "The answer is (B) Vancomycin and cefepime.", "B"),
    # an option's text after "best choice", with "plus" for "and", or kept apart from one set aside by "rather than"
    (ABX, "**Best choice: vancomycin plus cefepime.**", "B"), (ABX, "Empiric cover is vancomycin + cefepime.", "B"),
    (ABX, "The watery diarrhea after clindamycin points to metronidazole rather than vancomycin.", "C"),
    # an option's text after "warrants", closing the last sentence after a comma, or with an initial ("H. pylori")
    (ABX, "A duodenal ulcer without NSAID use warrants H. pylori eradication therapy.", "D"),
    (ABX, "Given the MRSA risk, start vancomycin.", "A"), (ABX, "If MRSA is likely, vancomycin.", None),
    # the words every option shares may be left out
    (TYPES, "Contact dermatitis is T-cell mediated: type IV.", "D"),
    # a Cyrillic look-alike letter after an answer word
    (ABCD, "Ответ: С", "C"),
]


@pytest.mark.parametrize("text,expected", [
    ('{"verdict": "no", "why": "no difference"}', "B"), ("verdict: Maybe", "C"),
    ("结论：是", "A"), ("Respuesta: no.", "B"), ("Fazit: vielleicht", "C"), ("Conclusion: no significant change.", None),
    ("Not really. The effect vanished after adjustment.", "B"), ("Not really sure the study answers this.", None),
])
def test_pubmedqa_fields_other_languages_and_not_really(text, expected):
    assert extract_answer(text, YNM) == expected


HEP = {"A": "Hepatitis A", "B": "Hepatitis B", "C": "Hepatitis C", "D": "Hepatitis E"}
VIT = {"A": "Vitamin B12 deficiency", "B": "Folate deficiency", "C": "Vitamin B1 deficiency",
       "D": "Vitamin B6 deficiency"}
AVB = {"A": "First-degree AV block", "B": "Mobitz type I second-degree AV block",
       "C": "Mobitz type II second-degree AV block", "D": "Third-degree AV block"}


# what heldout6's first reading missed, one case or more per class
HELDOUT6_CLASSES = [
    # short or numbered words tell options apart: never a shorter option inside a longer one, never one left out
    (HEP, "Jaundice after a trip, in pregnancy, suggests hepatitis E.", "D"),
    (HEP, "This picture is consistent with hepatitis A.", "A"),
    (VIT, "Neuropathy on isoniazid suggests vitamin B6 deficiency.", "D"),
    (AVB, "Fixed PR with dropped beats is consistent with Mobitz type II second-degree AV block.", "C"),
    # a closing letter after a comma or "so", however long the sentence before it
    (ABCD, "The mechanical valve and the prior stroke call for lifelong anticoagulation at an INR of 3, so C.", "C"),
    (ABCD, "It acts at once and is reversible with protamine, B.", "B"), (ABCD, "It could be B, so C or D.", None),
    # an option's number in place of its letter
    (ABCD, "The answer is option 2.", "B"), (ABCD, "The answer is option 3 (C).", "C"), (ABCD, "Option 7.", None),
    # answer words of more languages
    (ABCD, "Chọn B.", "B"), (ABCD, "Odpowiedź: D", "D"), (ABCD, "Jawaban: A", "A"), (ABCD, "Cevap: C", "C"),
    # a hedged letter after a colon; a letter glossed on the last line
    (ABCD, "Oral, long-term, monitored by INR: probably (C), though the valve type matters.", "C"),
    (AVB, "PR lengthens until a beat drops.\n\nB — Mobitz I", "B"),
    (AVB, "PR lengthens until a beat drops.\n\nB — Third-degree AV block", None), (AVB, "A — or maybe C", None),
    # an option's text after "I'd add", "stepped up to", "classic picture of", "meets the criteria for"
    (ABCD, "For the new atrial fibrillation with a mechanical valve I'd add warfarin.", "C"),
    (ABCD, "Given the thrombus he should be switched to heparin now.", "B"),
    (HEP, "Fulminant liver failure in the third trimester is the classic picture of hepatitis E.", "D"),
    (HEP, "Positive HBsAg for more than six months meets the criteria for hepatitis B.", "B"),
]


GENES = {"A": "BRCA1", "B": "BRCA2", "C": "TP53", "D": "APC"}
EMERGENCY = {"A": "Obtain consent from the family", "B": "Proceed with emergency surgery", "C": "Wait for capacity"}


# what heldout7's first reading missed, one case or more per class
HELDOUT7_CLASSES = [
    (ABCD, "B, not D: the bleeding risk is too high for thrombolysis.", "B"),           # a letter, then "not <other>"
    (GENES, "Li-Fraumeni features favour TP53 over BRCA1.", "C"),                      # "X over Y": Y set aside
    (GENES, "We prefer BRCA2 over BRCA1 here.", "B"),
    (ABCD, "The most likely diagnosis is heparin-induced thrombocytopenia.", None),    # a hyphenated word is not B
    (ABCD, "The answer is aspirin-exacerbated respiratory disease.", None),
    (ABCD, "Until the valve is replaced, treat as warfarin-dependent: warfarin.", "C"),
    (EMERGENCY, "The family is unreachable and there is no directive, so proceed with emergency surgery.", "B"),
    (EMERGENCY, "If the family is unreachable, proceed with emergency surgery.", None),  # a conditional asserts nothing
    (GENES, "A young woman with breast and ovarian cancer most likely has BRCA1.", "A"),
    (EMERGENCY, "decision: B\nreason: implied consent", "B"),        # a YAML reply without a full stop
]


LYME = {"A": "Doxycycline", "B": "Amoxicillin", "C": "Ceftriaxone", "D": "Low-dose dexamethasone suppression test"}


# what heldout8's first reading missed, one case or more per class
HELDOUT8_CLASSES = [
    (LYME, "Erythema migrans after a tick bite: treat with doxycycline for 10 days.", "A"),
    (LYME, "Do not treat with doxycycline in pregnancy.", None),
    (LYME, "To screen for Cushing syndrome, start with a low-dose dexamethasone suppression test.", "D"),
    (LYME, "Lyme carditis with third-degree block qualifies for ceftriaxone, given intravenously.", "C"),
    (ABCD, "It acts at once and protamine reverses it, so B is correct.", "B"),
    (ABCD, "Neither A nor B is correct.", None), (ABCD, "If B is correct, then C is wrong.", None),
    (ABCD, "Statement B is correct, but the question asks for the exception.", None),
]


@pytest.mark.parametrize("options,text,expected",
                         HELDOUT5_CLASSES + HELDOUT6_CLASSES + HELDOUT7_CLASSES + HELDOUT8_CLASSES)
def test_classes_the_held_out_first_readings_missed(options, text, expected):
    assert extract_answer(text, options) == expected


def test_pubmedqa_the_data_say():
    assert extract_answer("The data say yes: mortality fell by a third.", YNM) == "A"
    assert extract_answer("The results suggest no: recurrence was unchanged.", YNM) == "B"


def test_pubmedqa_bottom_line():
    assert extract_answer("Bottom line: no. The effect was confounded.", YNM) == "B"
    assert extract_answer("Bottom line: the sample is small.", YNM) is None


def test_llm_judge_fallback_reads_only_what_the_rules_leave_and_only_one_letter():
    """The optional LLM-judge fallback (off by default): only unread outputs go to the judge, and a reply that is not
    exactly one valid letter is no answer."""
    from clinqa.extract_judge import extract_with_judge
    from clinqa.models.base import GenResult

    class Scripted:                       # a backend's `generate`, scripted
        def __init__(self, replies):
            self.replies, self.prompts = list(replies), []

        def generate(self, requests):
            self.prompts += [r.prompt for r in requests]
            return [GenResult(texts=[self.replies.pop(0)], completion_tokens=[1], prompt_tokens=1) for _ in requests]

    items = [("The answer is (C).", ABCD), ("Anticoagulation with a vitamin K antagonist such as warfarin may be needed.", ABCD),
             ("I am not sure.", ABCD), ("It is hard to say.", ABCD)]
    assert extract_with_judge(items) == [("C", "rules"), (None, "none"), (None, "none"), (None, "none")]
    judge = Scripted([" C", "None", "B or C"])
    assert extract_with_judge(items, judge) == [("C", "rules"), ("C", "judge"), (None, "none"), (None, "none")]
    # a letter the reply's closing part does not support (the judge answered the question itself) is not believed
    judge = Scripted([" B", "None", "None"])
    assert extract_with_judge(items, judge)[1] == (None, "none")
    assert len(judge.prompts) == 3 and "(D) alteplase" in judge.prompts[0]


RTA = {"A": "Type I renal tubular acidosis", "B": "Type II renal tubular acidosis", "C": "Type IV renal tubular acidosis",
       "D": "Diabetic ketoacidosis"}
THYROID = {"A": "Hyperthyroidism", "B": "Hypothyroidism", "C": "Subclinical hypothyroidism", "D": "Sick euthyroid syndrome"}
GONO = {"A": "Ceftriaxone", "B": "Azithromycin", "C": "Doxycycline", "D": "Ceftriaxone and doxycycline"}
BILIARY = {"A": "Elective cholecystectomy", "B": "ERCP", "C": "Emergency laparotomy", "D": "HIDA scan"}
BLEED = {"A": "Placenta previa", "B": "Placental abruption", "C": "Uterine rupture", "D": "Vasa previa"}


@pytest.mark.parametrize("options,text,expected", [
    # a tool call's argument and a TOML-style field name the answer
    (ABCD, 'record_choice(letter="c", confidence=0.8)', "C"),
    (ABCD, 'final = "B"', "B"),
    (ABCD, 'submit(eliminated="A")', None),
    # a lower-case letter closing the reply after "so"
    (ABCD, "Mechanical valve, so warfarin territory. So d.", "D"),
    (ABCD, "Heparin bridging is reasonable. So a", None),
    # a Roman numeral after "type" is its number, and an acronym spells out the option's words
    (RTA, "Hyperkalaemia with a normal gap in a diabetic: type 4 RTA.", "C"),
    (RTA, "This looks like a distal, type 1 RTA.", "A"),
    (RTA, "RTA of some kind, hard to say which type.", None),
    # the last sentence names one option and every other named option is set aside
    (BLEED, "Placenta previa is excluded by the fundal placenta and vasa previa is wrong with intact membranes. "
            "Uterine rupture matches the scar and the lost station.", "C"),
    (THYROID, "The TSH is very high with a low T4, so this is overt hypothyroidism — not the subclinical form.", "B"),
    (GONO, "No chlamydia, so no second drug is needed. A single intramuscular dose of ceftriaxone is the standard.", "A"),
    (BILIARY, "Charcot's triad with a dilated duct means cholangitis from a stone. Proceed with ERCP.", "B"),
    # ... but not when the reply is cut off, conditional, hedged, about a relative of the option or two options
    (BLEED, "Vasa previa is wrong. Uterine rupture matches the scar and the", None),
    (BLEED, "If there is a prior classical scar, uterine rupture.", None),
    (BLEED, "Uterine rupture might fit the scar.", None),
    (GONO, "The regimen is a variant of ceftriaxone dosing.", None),
    (BLEED, "Placenta previa presents painlessly. Placental abruption presents with pain.", None),
    (GONO, '{"rationale": "ceftriaxone covers gonorrhoea"}', None),
    (BLEED, "<think>Vasa previa is wrong. Uterine rupture fits.", None),
])
def test_classes_the_ninth_held_out_set_missed(options, text, expected):
    assert extract_answer(text, options) == expected


ADRENAL = {"A": "Hypothyroidism", "B": "Secondary adrenal insufficiency", "C": "Primary adrenal insufficiency",
           "D": "Anorexia nervosa"}
GOUT = {"A": "Allopurinol", "B": "Colchicine and allopurinol", "C": "Probenecid", "D": "Oral prednisone"}
HEADCT = {"A": "MRI brain", "B": "Lumbar puncture", "C": "Non-contrast CT head", "D": "Cerebral angiography"}
VITS = {"A": "Vitamin A", "B": "Vitamin B12", "C": "Vitamin D", "D": "Vitamin K"}
PLATELET = {"A": "Inhibition of cyclooxygenase-1", "B": "Blockade of the P2Y12 ADP receptor",
            "C": "Inhibition of glycoprotein IIb/IIIa", "D": "Direct thrombin inhibition"}


@pytest.mark.parametrize("options,text,expected", [
    # answer words of Korean and Japanese, a lower-case letter after one, a Japanese PubMedQA "yes"
    (ABCD, "출혈 위험을 고려하면...\n\n**정답: C. 와파린**", "C"),
    (ABCD, "典型的な所見です。\n\n正解は **b** です。", "B"),
    (ABCD, "A alternativa correta é a D.", "D"),
    (YNM, "有意な低下を認めた。\n\n答え：はい", "A"),
    # a letter then a dash and a gloss opening the reply
    (PLATELET, "B — P2Y12 blockade. Clopidogrel is a prodrug activated by CYP2C19.", "B"),
    (PLATELET, "B — or maybe C, both reduce aggregation.", None),
    # an option's text opening the reply with a bracketed gloss; "of the" inside an option's words
    (GOUT, "Oral prednisone (30 mg daily for five days).\n\nNSAIDs are out with this kidney function.", "D"),
    (HEADCT, "The investigation of choice is a non-contrast CT of the head.", "C"),
    # how much of an option is given, and a bracketed gloss, do not hide it
    (GOUT, "With CKD and an ulcer history, the best option is a short course of oral prednisone (e.g., 30 mg).", "D"),
    (ADRENAL, "The most likely diagnosis is primary adrenal insufficiency (Addison's disease). Autoimmune adrenalitis "
              "is the classic cause in this setting.", "C"),
    # a list names options and asserts none; a reasoning block left open answers nothing; an opening question of
    # the model's own is not the one asked
    (VITS, "The fat-soluble vitamins are vitamin A, vitamin D and vitamin K.", None),
    (ADRENAL, "<think>\nHyperpigmentation points to primary adrenal insufficiency. The answer is C. But wait, the", None),
    (HEADCT, "Question: Which drug reverses warfarin?\nA. Vitamin K\nB. Protamine\nAnswer: B\n\nQuestion: A 30", None),
    (HEADCT, "Question: Which is the first test?\nA. MRI brain\nB. Lumbar puncture\nC. Non-contrast CT head\n"
             "D. Cerebral angiography\nAnswer: C", "C"),
])
def test_classes_the_tenth_to_twelfth_held_out_sets_missed(options, text, expected):
    assert extract_answer(text, options) == expected


@pytest.mark.parametrize("text", ["I'm going to go with (C).", "The best answer here is C.", "Answer — C",
                                  "So, the answer would have to be C.", "Choice C.", "Let me go with C.", "Option C.",
                                  "c"])
def test_common_closing_forms_probed_before_the_thirteenth_set(text):
    """Forms written by the lead as probes of everyday replies (not from any corpus): each names C."""
    assert extract_answer(text, ABCD) == "C"


ACID = {"A": "Metabolic acidosis", "B": "Respiratory acidosis", "C": "Metabolic alkalosis", "D": "Respiratory alkalosis",
        "E": "Mixed metabolic acidosis and respiratory alkalosis"}
NERVES = {"A": "Radial nerve", "B": "Axillary nerve", "C": "Musculocutaneous nerve", "D": "Ulnar nerve"}


@pytest.mark.parametrize("options,text,expected", [
    # an agent's final call; PubMedQA's word in answer tags
    (ACID, 'Thought: Winter\'s formula says a second process.\nCode:\n```py\nfinal_answer("E")\n```<end_code>', "E"),
    (YNM, "Delirium fell from 24% to 12%.\n\n<answer>no</answer>", "B"),
    # a checked option after a sentence opening with the article "A" and units like "mm Hg", "HCO3"
    (ACID, "A climber at altitude hyperventilates.\n* PaCO2 26 mm Hg\n* HCO3 23\n\n✅ **D. Respiratory alkalosis**", "D"),
    # an answer statement with two letters, beside one option named plainly; the options echoed and cut off
    (NERVES, "Radial nerve injuries are common here.\n\n**Answer: A and D**", None),
    (NERVES, "A. Radial nerve\nB. Axillary nerve\nC. Musculocutaneous nerve\nD. Ulnar nerve\n\nA. Radial nerve\nB. ", None),
])
def test_classes_the_thirteenth_to_fifteenth_held_out_sets_missed(options, text, expected):
    assert extract_answer(text, options) == expected


GSD = {"A": "Glucose-6-phosphatase", "B": "Acid maltase", "C": "Muscle glycogen phosphorylase", "D": "Debranching enzyme",
       "E": "Branching enzyme"}
EPILEPSY = {"A": "Ethosuximide", "B": "Carbamazepine", "C": "Phenytoin", "D": "Phenobarbitone"}
TRANSLOC = {"A": "t(9;22)", "B": "t(15;17)", "C": "t(8;14)", "D": "t(11;14)"}
LYME = {"A": "Ceftriaxone", "B": "Vancomycin", "C": "Metronidazole", "D": "Doxycycline"}
NEURO = {"A": "Radial nerve", "B": "Axillary nerve", "C": "Ulnar nerve", "D": "Musculocutaneous nerve"}
PYLORUS = {"A": "Intussusception", "B": "Pyloric stenosis", "C": "Malrotation with midgut volvulus",
           "D": "Hirschsprung disease"}


@pytest.mark.parametrize("options,text,expected", [
    # an answer heading on its own line, then the option's text with a word more
    (GSD, "Long outer chains and few branch points: Andersen disease.\n\n**Final Answer**\nBranching enzyme deficiency",
     "E"),
    # a letter with its own option's text after "is" or an arrow; not a walk through the options
    (EPILEPSY, "The drug of choice for absence seizures is **A. Ethosuximide**.\n\nCarbamazepine can worsen them.", "A"),
    (EPILEPSY, "Absence seizures in a child.\n\n→ **A. Ethosuximide**", "A"),
    (EPILEPSY, "Let's look at the options:\n(A) Ethosuximide - first line.\n(B) Carbamazepine - worsens absences.", None),
    # "t(11;14)" is one clause; the answer first, then why; one modifier before an option's words; route and dose
    (TRANSLOC, "Cyclin D1 overexpression. Therefore, the translocation most likely present is t(11;14).", "D"),
    (PYLORUS, "This presentation is most consistent with **hypertrophic pyloric stenosis**.\n\nThe olive and the "
              "hypochloremic alkalosis are typical.", "B"),
    (NEURO, "**Radial nerve** injury is the most likely cause.\n\n**Disclaimer:** consult a professional.", "A"),
    (LYME, "Erythema migrans after a hike. The recommended treatment is oral doxycycline 100 mg twice daily.", "D"),
    # ... but not an answer-first sentence that hedges, nor one option said first and another later
    (LYME, "Ceftriaxone might be considered. The rash is classic.", None),
    (LYME, "Ceftriaxone covers Lyme meningitis. Doxycycline is used for early disease.", None),
    # the answer of a question the model made up inside its reasoning block
    (LYME, "<think>Let me try another question.\nQuestion: Painless bleeding at 39 weeks?\nA. Abruption\nB. Placenta "
           "previa\nSo B.\n</think>\n\nThe answer is B. Placenta previa.", None),
])
def test_classes_the_sixteenth_to_eighteenth_held_out_sets_missed(options, text, expected):
    assert extract_answer(text, options) == expected


MDD = {"A": "Major depressive disorder", "B": "Adjustment disorder with depressed mood", "C": "Dysthymia",
       "D": "Bipolar II disorder"}
TUMOR = {"A": "Neuroblastoma", "B": "Wilms tumor", "C": "Hepatoblastoma", "D": "Polycystic kidney disease"}
LABS = {"A": "Increased calcium, decreased phosphate, increased PTH",
        "B": "Decreased calcium, increased phosphate, increased PTH", "C": "Normal calcium, normal phosphate, normal PTH"}
RH = {"A": "Repeat the antibody screen at 36 weeks", "B": "Administer anti-D immune globulin now",
      "C": "Administer anti-D immune globulin only after delivery"}
UVEA = {"A": "Angle-closure glaucoma", "B": "Anterior uveitis", "C": "Conjunctivitis", "D": "Retinal artery occlusion"}


@pytest.mark.parametrize("options,text,expected", [
    # two statements, the first closed by "(B)." (no option text follows it), then a conflicting one
    (ABCD, "The valve is mechanical. Therefore, the answer is (C).\n\nAspirin is common. Therefore, the answer is (A).",
     None),
    # a conditional sentence, a list with articles, a reason's own negation, a cut-off list
    (MDD, "If she meets five criteria, the diagnosis would be major depressive disorder (A). Otherwise it is unclear.",
     None),
    (NEURO, "The nerves near the humerus include the axillary nerve, the radial nerve, and the ulnar nerve.", None),
    (TUMOR, "Two paths favour neuroblastoma (A) because of the age, while one favours Wilms tumor (B) because the "
            "mass does not cross the midline.", None),
    (NEURO, "The nerves near the humerus include the axillary nerve, the radial", None),
    # "even if" is no condition; PubMedQA in \boxed; "Hence option (b)"; a lab-value option with its commas;
    # "She should receive ..."
    (BLEED, "The right answer is uterine rupture, even if the scan was normal.", "C"),
    (YNM, "The authors conclude a protective association.\n\nThe final answer is $\\boxed{\\text{yes}}$", "A"),
    (UVEA, "Ciliary flush and a small pupil in ankylosing spondylitis. Hence option (b).", "B"),
    (LABS, "Therefore, the expected findings are **increased calcium, decreased phosphate, and increased PTH**.", "A"),
    (RH, "She should receive anti-D immune globulin now. A second dose follows delivery if the baby is Rh-positive.",
     "B"),
])
def test_classes_the_nineteenth_to_twenty_first_held_out_sets_missed(options, text, expected):
    assert extract_answer(text, options) == expected


ELECTRO = {"A": "Sodium", "B": "Potassium", "C": "Calcium", "D": "Chloride"}
ABX50 = {"A": "Inhibition of cell wall synthesis", "B": "Inhibition of 30S ribosomal subunit",
         "C": "Inhibition of 50S ribosomal subunit", "D": "Inhibition of DNA gyrase"}
SYPH = {"A": "Ceftriaxone", "B": "Doxycycline", "C": "Azithromycin", "D": "Penicillin G benzathine"}
NNT = {"A": "Number needed to treat = 25", "B": "Number needed to treat = 4", "C": "Number needed to harm = 25"}
GN = {"A": "Minimal change disease", "B": "Membranous nephropathy", "C": "Post-streptococcal glomerulonephritis"}


@pytest.mark.parametrize("options,text,expected", [
    # two letters with their texts in one answer line; "both A and E remain possible"; a run of exemplars
    (ELECTRO, "Both are extracellular.\n\n**Answer: A. Sodium and D. Chloride**", None),
    (ELECTRO, "**A. Sodium**, the main extracellular cation.\n**D. Chloride**, the main anion.\n\nBoth A and D remain "
              "possible without more data.", None),
    (ELECTRO, "Question: Which ion is mainly intracellular?\nA. Sodium\nB. Potassium\nC. Calcium\nD. Chloride\nAnswer: B"
              "\n\nQuestion: Which ion is mainly in bone?\nA. Sodium\nB. Potassium\nC. Calcium\nD. Chloride\nAnswer: C",
     None),
    # a reference "(option A)" gives way to the answer statement
    (ABX50, "Mycoplasma lacks a wall, so beta-lactams (option A) are ineffective. Therefore, the answer is (C).", "C"),
    # "treated with" an option's words in another order, after a dose; "is" for "="; a joined prefix
    (SYPH, "Primary syphilis should be treated with a single intramuscular dose of benzathine penicillin G.", "D"),
    (NNT, "ARR = 4%, so NNT = 1 / 0.04.\n\nSo the number needed to treat is 25.", "A"),
    (GN, "Cola-coloured urine two weeks after a sore throat: this is poststreptococcal glomerulonephritis.", "C"),
    # the last line a letter with its own option's text, but not the last line of a list of options
    (YNM, "The hazard ratio crossed 1.\n\n**B) no**", "B"),
    (ELECTRO, "Let's go through the options.\nA) Sodium\nB) Potassium", None),
])
def test_classes_the_twenty_second_to_twenty_fourth_held_out_sets_missed(options, text, expected):
    assert extract_answer(text, options) == expected


PREECL = {"A": "Magnesium sulfate", "B": "Intravenous labetalol", "C": "Immediate cesarean delivery",
          "D": "Oral nifedipine", "E": "Expectant management"}
PMR = {"A": "Giant cell arteritis", "B": "Polymyalgia rheumatica", "C": "Takayasu arteritis", "D": "Polyarteritis nodosa"}


@pytest.mark.parametrize("options,text,expected", [
    # a letter that is not among the options; a condition at the end of a sentence does not undo it
    (NEURO, "Thenar wasting points to the median nerve, not the ulnar nerve; it is not listed.\n\nAnswer: E", None),
    (PREECL, "No severe features.\n\nThe best management is expectant management, with delivery at 37 weeks or "
             "earlier if severe features develop.", "E"),
    # gpt-oss's channels, HuatuoGPT's final response, a Hindi answer line
    (PMR, '<|channel|>analysis<|message|>PMR. Choice A? no, B.<|end|><|start|>assistant<|channel|>final<|message|>'
          '{"choice": "B", "confidence": 0.9}', "B"),
    (PMR, 'analysisShoulder girdle stiffness, normal CK. B.assistantfinal{"choice": "B"}', "B"),
    (YNM, "## Thinking\n\nThe interval crosses 1.\n\n## Final Response\n\nNo. Statins did not reduce mortality.", "B"),
    (PREECL, "सही उत्तर है: (D) Nifedipine\n\nमौखिक निफेडिपिन सबसे उपयुक्त है।", "D"),
    # a reply cut off mid-reasoning: what it calls classic or suggestive is still being weighed
    (PMR, "Jaw claudication would be classic for giant cell arteritis. But the stiffness suggests", None),
])
def test_classes_the_twenty_fifth_to_twenty_seventh_held_out_sets_missed(options, text, expected):
    assert extract_answer(text, options) == expected


@pytest.mark.parametrize("options,text,expected", [
    # an earlier statement taken back right after it (in its sentence or by the next one's first words)
    (PMR, "The answer is C) Takayasu arteritis... wait, no. She is 72, and Takayasu affects young women.\n\n"
          "New headache and jaw claudication after 50: the answer is A) Giant cell arteritis.", "A"),
    (PMR, "At first glance the answer would be B.\n\nWait, the jaw claudication does not fit PMR alone.\n\n"
          "So the answer is A.", "A"),
    (PMR, "The answer is B. Shoulder stiffness is typical.\n\nThe answer is A.", None),     # nothing taken back
    (PMR, "The answer is B. Hmm, that fits the girdle stiffness.\n\nSome might say the answer is A.", None),
    # a chat template's turn markers end the answer: what follows is a turn the model invented
    (PMR, "The most likely diagnosis is B) Polymyalgia rheumatica, given the girdle stiffness. [/INST] Question: "
          "A 30-year-old woman has absent radial pulses. Which is most likely?\n\nAnswer: C) Takayasu arteritis", "B"),
    (PMR, "Answer: **B. Polymyalgia rheumatica** <sep> human: thanks! what about the ESR?", "B"),
    (PMR, "The answer is A.\n### Human: Are you sure? Could it be C?\n### Assistant: The answer is C.", "A"),
    (PMR, "<start_of_turn>model\nAnswer: B", "B"),      # a marker the reply opens with ends nothing
    # a reply that says it cannot decide names no option, whatever it leans towards on the way
    (PMR, "The picture fits either giant cell arteritis or polymyalgia rheumatica. Jaw pain would favor giant cell "
          "arteritis, but it is mild here. Without a biopsy it is not possible to reliably distinguish the two.", None),
    (PMR, "We cannot determine the exact cause, but the most likely diagnosis is polymyalgia rheumatica.", "B"),
    (PMR, "GCA and PMR overlap and cannot be told apart without a biopsy; still, giant cell arteritis is the most "
          "likely diagnosis.", "A"),
])
def test_classes_the_thirty_fourth_to_thirty_sixth_held_out_sets_missed(options, text, expected):
    assert extract_answer(text, options) == expected


def test_strip_answer_keeps_a_reasoning_that_opens_with_a_turn_marker():
    """ER shows stage-1 reasonings without their answers: one that opens with a chat turn marker keeps its reasoning,
    and loses its answer and the turn it invented after it."""
    text = ("<start_of_turn>model\nGirdle stiffness and a high ESR fit PMR. The answer is B.<end_of_turn>\n"
            "Question: what else?")
    shown = strip_answer(text, PMR)
    assert "Girdle stiffness and a high ESR fit PMR." in shown
    assert "answer is B" not in shown and "what else" not in shown
