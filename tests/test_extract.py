"""Answer extraction on the formats models write, including the ones that biased results towards option A."""

import pytest

from clinqa.extract import extract_answer

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


def test_hand_labelled_corpus_is_read_correctly():
    """Real SmolLM2 outputs and documented styles of other model families, labelled by hand (tests/fixtures); a
    floor against regressions at the accuracy reached (benchmarks/extraction.py prints the detail)."""
    import json
    from pathlib import Path
    corpus = Path(__file__).parent / "fixtures" / "extraction_corpus.jsonl"
    items = [json.loads(line) for line in corpus.read_text().splitlines() if line.strip()]
    right = sum(extract_answer(it["text"], it["options"]) == it["label"] for it in items)
    assert len(items) >= 350 and right / len(items) >= 0.99
    wrong_letter = [it["id"] for it in items if (got := extract_answer(it["text"], it["options"])) is not None
                    and got != it["label"]]
    assert len(wrong_letter) / len(items) <= 0.03, wrong_letter     # guesses are rarer than "no answer"


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

    items = [("The answer is (C).", ABCD), ("Anticoagulation with a vitamin K antagonist.", ABCD),
             ("I am not sure.", ABCD), ("It is hard to say.", ABCD)]
    assert extract_with_judge(items) == [("C", "rules"), (None, "none"), (None, "none"), (None, "none")]
    judge = Scripted([" C", "None", "B or C"])
    assert extract_with_judge(items, judge) == [("C", "rules"), ("C", "judge"), (None, "none"), (None, "none")]
    assert len(judge.prompts) == 3 and "(D) alteplase" in judge.prompts[0]
