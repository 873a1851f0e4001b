"""Expert pairwise ratings in OLAPH's format: the strict reader (hand-made fixtures written here; the real file is read
from ../shared only), recorded verdicts as a judge, the per-rater judge card against a hand computation, PPI++ on real
labels (seeded), and the import as a finished rating study."""

import json

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from clinqa.analysis.judge import is_judge
from clinqa.analysis.ppi_real import coverage_on_real
from clinqa.analysis.rater_card import rater_card
from clinqa.analysis.recorded import pairwise_study
from clinqa.data.errors import DataError
from clinqa.data.loaders.olaph import AXES, EXPERTS, JUDGE_FIELD, RELPATH, parse_rating, read_pairwise_ratings
from clinqa.data.rubric import load_rubric
from conftest import DATA

LABELS = [label for label, _ in AXES]
PAIRWISE = load_rubric().axes("pairwise")


def rating(values, rationale=""):
    return "\n".join(f"{i}) {label}: {v}{rationale}" for i, (label, v) in enumerate(zip(LABELS, values), start=1))


def write(tmp_path, rows):
    p = tmp_path / "ratings.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return p


def row(experts, judge, q="Is water wet?"):
    r = {"Question": q, "gpt4 (Option A)": "Answer from the model.", "medical expert (Option B)": "Doctor's answer."}
    r.update({f: rating(v) for f, v in zip(EXPERTS, experts)})
    r[JUDGE_FIELD] = judge
    return r


def test_strict_parse_accepts_exact_lines_and_judge_rationales():
    values, problems = parse_rating(rating(["Option A", "Option B", "Tie"] * 3), rationale=False)
    assert problems == [] and values == ["Option A", "Option B", "Tie"] * 3
    judged = rating(["Tie"] * 9, " - both are fine.").replace("2) Reading", "reasoning first.\n2) Reading")
    values, problems = parse_rating(judged, rationale=True)
    assert problems == [] and values == ["Tie"] * 9


@pytest.mark.parametrize("bad,line", [("3) Knowledge recall: B", 3), ("5) Inclusion of irrelevant content: Neither.", 5),
                                      ("4) Reasoning: Option AB", 4), ("4) Reasoning quality: Option A", 4)])
def test_every_bad_line_is_reported_and_left_missing(bad, line):
    lines = rating(["Tie"] * 9).splitlines()
    lines[line - 1] = bad
    values, problems = parse_rating("\n".join(lines), rationale=True)
    assert values[line - 1] is None and sum(v is None for v in values) == 1
    assert [n for n, _ in problems] == [line]


def test_expert_rating_may_not_carry_extra_text_or_miss_an_axis():
    text = rating(["Tie"] * 9).replace("1) Alignment with medical consensus: Tie",
                                       "1) Alignment with medical consensus: Tie - sure")
    values, problems = parse_rating("\n".join(text.splitlines()[:8]), rationale=False)
    assert values[0] is None and values[8] is None
    assert {n for n, _ in problems} == {1, 0}            # line 1 and the missing ninth axis (whole rating)


def test_reader_names_file_line_and_field(tmp_path):
    p = write(tmp_path, [row([["Tie"] * 9] * 3, rating(["Tie"] * 9)),
                         row([["Tie"] * 9] * 3, rating(["Tie"] * 8 + ["B"]))])
    items, problems = read_pairwise_ratings(p)
    assert len(items) == 2 and len(problems) == 1
    assert (problems[0].line, problems[0].field, problems[0].rating_line) == (2, JUDGE_FIELD, 9)
    assert f"{p}:2: field '{JUDGE_FIELD}', rating line 9" in str(problems[0])
    bad = write(tmp_path, [{"Question": "q"}])
    with pytest.raises(DataError, match="gpt4 \\(Option A\\)"):
        read_pairwise_ratings(bad)


def test_recorded_verdicts_are_a_judge(tmp_path):
    p = write(tmp_path, [row([["Option A"] * 9, ["Option B"] * 9, ["Tie"] * 9], rating(["Option A"] * 9))])
    ratings, problems, _ = pairwise_study(p)
    judge = [r for r in ratings if is_judge(r)]
    assert problems == [] and len(ratings) == 36 and len(judge) == 9
    assert {r.rater for r in judge} == {"recorded:gpt4"} and {r.value for r in judge} == {"Answer 1"}
    assert {(r.source, r.other_source) for r in ratings} == {("gpt4", "physician")}


def test_rater_card_equals_hand_computation(tmp_path):
    # four questions, three experts and a judge; only the first axis varies (the others all Tie)
    e1, e2, e3 = ["Option A", "Option A", "Tie", "Option B"], ["Option A", "Tie", "Tie", "Option B"], \
                 ["Option B", "Option A", "Tie", "Tie"]
    judge = ["Option A", "Option A", "Option A", "Tie"]
    rows = [row([[a] + ["Tie"] * 8 for a in (x, y, z)], rating([j] + ["Tie"] * 8), q=f"q{i}")
            for i, (x, y, z, j) in enumerate(zip(e1, e2, e3, judge))]
    ratings, _, _ = pairwise_study(write(tmp_path, rows))
    card = {c.axis: c for c in rater_card(ratings, PAIRWISE, n_boot=200)}["better_consensus"]
    experts = [e1, e2, e3]
    pooled_ref = [v for e in experts for v in e]
    assert card.kappa.estimate == pytest.approx(cohen_kappa_score(pooled_ref, judge * 3))
    ref = [v for a in range(3) for b in range(3) if a != b for v in experts[a]]
    other = [v for a in range(3) for b in range(3) if a != b for v in experts[b]]
    assert card.ceiling_kappa.estimate == pytest.approx(cohen_kappa_score(ref, other))
    per = {r.rater: r.kappa.estimate for r in card.raters}
    for k, e in enumerate(experts, start=1):
        assert per[f"expert_{k}"] == pytest.approx(cohen_kappa_score(e, judge))
    assert card.difference.estimate == pytest.approx(card.kappa.estimate - card.ceiling_kappa.estimate)
    assert card.judge_tie == pytest.approx(1 / 4) and card.human_tie == pytest.approx(5 / 12)
    assert card.judge_first == pytest.approx(1.0) and card.human_first == pytest.approx(4 / 7)
    assert card.verdict in ("below the ceiling", "within the ceiling", "above the ceiling")


def test_ppi_real_is_reproducible_with_a_seed(tmp_path):
    rng = np.random.default_rng(3)
    opts = ["Option A", "Option B", "Tie"]
    rows = [row([[opts[rng.integers(3)] for _ in range(9)] for _ in range(3)],
                rating([opts[rng.integers(3)] for _ in range(9)]), q=f"q{i}") for i in range(40)]
    ratings, _, _ = pairwise_study(write(tmp_path, rows))
    a = coverage_on_real(ratings, PAIRWISE[:2], "gpt4", (0.25, 0.5), n_splits=30, seed=5)
    b = coverage_on_real(ratings, PAIRWISE[:2], "gpt4", (0.25, 0.5), n_splits=30, seed=5)
    c = coverage_on_real(ratings, PAIRWISE[:2], "gpt4", (0.25, 0.5), n_splits=30, seed=6)
    assert a == b and a != c
    assert [(r.axis, r.n_labeled) for r in a] == [("better_consensus", 10), ("better_consensus", 20),
                                                   ("better_comprehension", 10), ("better_comprehension", 20)]
    for r in a:
        assert 0 <= r.coverage["PPI++"] <= 1 and r.width["human-only"] > 0
        assert r.coverage["judge-only"] in (0.0, 1.0)           # the same judge-only interval on every split


def test_import_as_finished_study_round_trips(tmp_path):
    from clinqa.analysis.table import read_ratings
    from clinqa.rating.db import make_engine
    from clinqa.rating.export import render_export
    from clinqa.rating.import_study import import_pairwise
    from clinqa.rating.study import export_rows
    p = write(tmp_path, [row([["Option A"] * 9, ["Option B"] * 9, ["Tie"] * 9], rating(["Tie"] * 9), q=f"q{i}")
                         for i in range(3)])
    items, _ = read_pairwise_ratings(p)
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    res = import_pairwise(engine, "imported", items)
    assert (res.items, res.submitted, res.incomplete) == (3, 9, [])
    out = tmp_path / "export.csv"
    out.write_bytes(render_export(export_rows(engine, res.study_id), "csv")[0])
    got = read_ratings(out, load_rubric())
    assert len(got) == 81
    chosen = {(r.rater, r.value, r.source) for r in got}
    assert chosen == {("expert_1", "Answer 1", "gpt4"), ("expert_2", "Answer 2", "gpt4"), ("expert_3", "Tie", "gpt4")}
    with pytest.raises(ValueError, match="exists"):
        import_pairwise(engine, "imported", items)


@pytest.mark.skipif(not (DATA / RELPATH).is_file(), reason="needs ../shared/data/olaph_human_eval")
def test_real_file_all_198_by_4_ratings_read_or_reported():
    items, problems = read_pairwise_ratings(DATA / RELPATH)
    assert len(items) == 198
    missing = sum(v is None for it in items for f in EXPERTS + (JUDGE_FIELD,) for v in it.verdicts[f])
    # every value that did not parse is one reported rating line (no rating or axis is missing as a whole)
    assert missing == len(problems) and all(p.rating_line > 0 for p in problems)
    assert all(len(it.verdicts[f]) == 9 for it in items for f in EXPERTS + (JUDGE_FIELD,))
    assert not [p for p in problems if p.field in EXPERTS]           # the experts' lines are all well formed
