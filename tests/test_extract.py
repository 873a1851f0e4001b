import pytest

from clinqa.extract import extract_answer

ABCD = {"A": "aspirin", "B": "heparin", "C": "warfarin", "D": "alteplase"}
YNM = {"A": "yes", "B": "no", "C": "maybe"}


@pytest.mark.parametrize("text,expected", [
    ("The answer is (C).", "C"),
    ("Answer: C) warfarin", "C"),
    ("**B**", "B"),
    ("the answer is (c)", "C"),
    (" (D)", "D"),
    ("Final answer: b.", "B"),
    ("Option B is correct", "B"),
    ("So the answer is A. On reflection, the answer is D.", "D"),         # the last statement wins
    ("<think>the answer is A</think>Final answer: (B)", "B"),             # reasoning block ignored
    ("The answer is a bit unclear to me.", None),                          # article 'a' is not option A
    ("Answer: E", None),                                                   # not an option
    ("I am not sure.", None),
    ("", None),
    ("warfarin", "C"),                                                     # the option text itself
])
def test_letters(text, expected):
    assert extract_answer(text, ABCD) == expected


@pytest.mark.parametrize("text,expected", [
    ("Yes, mitochondria are involved.", "A"), ("The answer is no.", "B"), ("maybe", "C"),
    ("Answer: (B)", "B"), ("It depends: yes in some cases, no in others.", None)])
def test_pubmedqa_words(text, expected):
    assert extract_answer(text, YNM) == expected
