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
    assert len(items) >= 250 and right / len(items) >= 0.94
    wrong_letter = [it["id"] for it in items if (got := extract_answer(it["text"], it["options"])) is not None
                    and got != it["label"]]
    assert len(wrong_letter) / len(items) <= 0.03, wrong_letter     # guesses are rarer than "no answer"
