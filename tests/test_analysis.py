"""Rating analysis: statistics checked against scipy/statsmodels, hand-computed cases and simulation (interval
coverage, false-positive rate); the report end to end from the CLI."""

import csv
import itertools
import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.inter_rater import fleiss_kappa
from statsmodels.stats.multitest import multipletests
from typer.testing import CliRunner

from clinqa.analysis.independent import compare_sources, summarize
from clinqa.analysis.pairwise import preferences
from clinqa.analysis.reliability import count_table, randolph_kappa, reliability
from clinqa.analysis.resampling import cluster_bootstrap, permutation_test, share
from clinqa.analysis.simulate import StudyDesign, simulate_study, true_best
from clinqa.analysis.table import Rating, ratings_from_store, read_ratings, write_ratings
from clinqa.cli import app
from clinqa.data.errors import DataError
from clinqa.data.rubric import load_rubric

RUBRIC = load_rubric()
runner = CliRunner()


def _axis(key, kind="physician"):
    return next(a for a in RUBRIC.axes(kind) if a.key == key)


# -- reliability ---------------------------------------------------------------------------------------------------

def test_randolph_kappa_by_hand_and_against_statsmodels():
    # item 1: all three raters agree; item 2: two of three -> P_o = (1 + 1/3) / 2 = 2/3; k = 2 -> kappa = 1/3
    t = count_table([["Yes", "Yes", "Yes"], ["Yes", "Yes", "No"]], ["Yes", "No"])
    assert randolph_kappa(t, 2) == pytest.approx(1 / 3)
    rng = np.random.default_rng(0)
    table = np.array([rng.multinomial(4, [0.7, 0.2, 0.1]) for _ in range(50)], dtype=float)
    assert randolph_kappa(table, 3) == pytest.approx(fleiss_kappa(table, method="randolph"))


def test_reliability_matches_libraries_and_flags_skewed_axes():
    import krippendorff
    rng = np.random.default_rng(1)
    ratings, data = [], np.full((3, 40), np.nan)
    scale = _axis("harm_extent").scale
    for i in range(40):
        for r in range(3):
            v = int(rng.choice(3, p=[0.95, 0.04, 0.01]))
            data[r, i] = v
            ratings.append(Rating("physician", f"a{i}", f"q{i}", "model", f"r{r}", "harm_extent", scale[v]))
    (res,) = reliability(ratings, (_axis("harm_extent"),), "physician")
    assert res.n_items == 40 and res.n_ratings == 120
    assert res.fleiss_kappa == pytest.approx(fleiss_kappa(count_table(
        [[scale[int(v)] for v in data[:, i]] for i in range(40)], list(scale)), method="fleiss"))
    assert res.krippendorff_alpha == pytest.approx(krippendorff.alpha(reliability_data=data,
                                                                      level_of_measurement="nominal"))
    assert res.randolph_kappa > 0.8 and res.fleiss_kappa < 0.5 and "base rates" in res.note


def test_pairwise_reliability_compares_unblinded_choices():
    # two raters both chose the model, seeing it on different sides: perfect agreement, not disagreement
    rs = [Rating("pairwise", "q1:m|p", "q1", "m", "r1", "better_consensus", "Answer 1", "p"),
          Rating("pairwise", "q1:m|p", "q1", "p", "r2", "better_consensus", "Answer 2", "m"),
          Rating("pairwise", "q2:m|p", "q2", "m", "r1", "better_consensus", "Tie", "p"),
          Rating("pairwise", "q2:m|p", "q2", "p", "r2", "better_consensus", "Tie", "m")]
    (res,) = reliability(rs, (_axis("better_consensus", "pairwise"),), "pairwise")
    assert res.percent_agreement == 1.0 and res.randolph_kappa == 1.0


# -- bootstrap and permutation ---------------------------------------------------------------------------------------

def test_bootstrap_estimate_and_degenerate_interval():
    best, total = [3, 1, 2], [3, 3, 3]
    assert cluster_bootstrap(best, total, 500).estimate == pytest.approx(6 / 9)
    assert share(best, total, one_per_answer=True) == pytest.approx(np.mean([1, 1 / 3, 2 / 3]))
    same = cluster_bootstrap([2] * 10, [4] * 10, 500)
    assert same.low == same.high == same.estimate == 0.5
    wide = cluster_bootstrap([3, 0] * 20, [3] * 40, 2000)
    per_answer = cluster_bootstrap([3, 0] * 20, [3] * 40, 2000, one_per_answer=True)
    assert wide.low < 0.5 < wide.high and per_answer.estimate == 0.5


def test_permutation_matches_scipy_for_single_ratings():
    rng = np.random.default_rng(3)
    a, b = rng.binomial(1, 0.7, 60), rng.binomial(1, 0.5, 60)
    ones = np.ones(60)
    ours = permutation_test(a, ones, b, ones, paired=False, n_perm=20000, seed=1).p_value
    ref = stats.permutation_test((a, b), lambda x, y: x.mean() - y.mean(), permutation_type="independent",
                                 n_resamples=20000, random_state=2).pvalue
    assert ours == pytest.approx(ref, abs=0.01)
    ours = permutation_test(a, ones, b, ones, paired=True, n_perm=20000, seed=1).p_value
    ref = stats.permutation_test((a, b), lambda x, y: x.mean() - y.mean(), permutation_type="samples",
                                 n_resamples=20000, random_state=2).pvalue
    assert ours == pytest.approx(ref, abs=0.01)


def test_paired_permutation_against_exact_enumeration():
    best_a, best_b, total = np.array([3, 3, 2, 3, 1, 3]), np.array([1, 2, 2, 0, 1, 1]), np.full(6, 3)
    obs = best_a.sum() / 18 - best_b.sum() / 18
    extreme = 0
    for flips in itertools.product([0, 1], repeat=6):
        f = np.array(flips, bool)
        d = (np.where(f, best_b, best_a).sum() - np.where(f, best_a, best_b).sum()) / 18
        extreme += abs(d) >= abs(obs) - 1e-12
    res = permutation_test(best_a, total, best_b, total, paired=True, n_perm=40000)
    assert res.difference == pytest.approx(obs)
    assert res.p_value == pytest.approx(extreme / 64, abs=0.01)


def _study(rng, n=140, p=0.8, c=6.0, m=3):
    q = rng.beta(p * c, (1 - p) * c, n)
    return rng.binomial(m, q), np.full(n, m)


def test_bootstrap_coverage_by_simulation():
    """1,000 studies of 140 triple-rated answers with answer-level spread; the true share is 0.8."""
    rng, covered = np.random.default_rng(11), 0
    for i in range(1000):
        iv = cluster_bootstrap(*_study(rng), n_boot=2000, seed=i)
        covered += iv.low <= 0.8 <= iv.high
    assert 0.93 <= covered / 1000 <= 0.97


@pytest.mark.parametrize("paired,one_per_answer", [(True, False), (False, False), (True, True)])
def test_permutation_false_positive_rate_under_the_null(paired, one_per_answer):
    rng, hits = np.random.default_rng(12), 0
    for i in range(1000):
        a, b = _study(rng), _study(rng, m=1 if one_per_answer else 3)
        hits += permutation_test(*a, *b, paired=paired, n_perm=1000, seed=i,
                                 one_per_answer=one_per_answer).p_value < 0.05
    assert 0.03 <= hits / 1000 <= 0.07


# -- the simulated study: known effects found, corrections applied -------------------------------------------------

@pytest.fixture(scope="module")
def sim():
    return simulate_study(StudyDesign(n_questions=140), seed=5)


def test_known_effects_are_found(sim):
    comps = {c.axis: c for c in compare_sources(sim, RUBRIC.axes("physician"), "physician", n_perm=2000)}
    assert comps["consensus"].paired and comps["consensus"].difference > 0 and comps["consensus"].p_holm < 0.01
    assert comps["missing_content"].difference < 0 and comps["missing_content"].p_holm < 0.01
    assert comps["harm_extent"].p_holm > 0.05
    raw = [c.p_value for c in comps.values()]
    assert [c.p_holm for c in comps.values()] == pytest.approx(list(multipletests(raw, method="holm")[1]))
    assert [c.p_bonferroni for c in comps.values()] == pytest.approx([min(1, p * 12) for p in raw])
    rows = {(r.axis, r.source): r for r in summarize(sim, RUBRIC.axes("lay"), "lay", n_boot=2000)}
    d = StudyDesign()
    for source in ("model", "physician"):
        r = rows[("helpfulness", source)]
        assert r.n_answers == 140 and r.n_ratings == 280 and sum(r.distribution.values()) == pytest.approx(1)
        assert r.best.low - 0.05 < true_best(d, source, "helpfulness") < r.best.high + 0.05
    prefs = {p.axis: p for p in preferences(sim, RUBRIC.axes("pairwise"))}
    p = prefs["better_consensus"]
    assert (p.source_a, p.source_b) == ("model", "physician") and p.n == 420 and p.p_value < 1e-6
    assert p.chose_a.estimate + p.chose_b.estimate + p.tie.estimate == pytest.approx(1)
    assert 0.4 < p.answer_1_share < 0.6


def test_pairwise_unblinding_by_hand():
    rs = [Rating("pairwise", "x", "q1", "m", "r1", "better_reasoning", "Answer 1", "p"),   # chose m
          Rating("pairwise", "x", "q1", "p", "r2", "better_reasoning", "Answer 2", "m"),   # chose m
          Rating("pairwise", "x", "q1", "p", "r3", "better_reasoning", "Tie", "m")]
    (p,) = preferences(rs, RUBRIC.axes("pairwise"))
    assert (p.chose_a.estimate, p.chose_b.estimate, p.tie.estimate) == (pytest.approx(2 / 3), 0, pytest.approx(1 / 3))
    assert p.p_value == pytest.approx(stats.binomtest(2, 2).pvalue) and p.answer_1_share == 0.5


def test_values_off_the_scale_are_rejected():
    bad = [Rating("physician", "a", "q", "m", "r", "consensus", "Mostly aligned")]
    with pytest.raises(ValueError, match="consensus.*Mostly aligned"):
        summarize(bad, RUBRIC.axes("physician"), "physician", n_boot=10)


# -- input, output, CLI ----------------------------------------------------------------------------------------------

def test_long_table_round_trip_and_errors(tmp_path, sim):
    for ext in ("csv", "jsonl", "parquet"):
        assert read_ratings(write_ratings(sim[:50], tmp_path / f"r.{ext}")) == sim[:50]
    p = tmp_path / "bad.csv"
    p.write_text("kind,item,qid,source,rater,axis,value\nphysician,a,q,m,r1,consensus,Aligned with consensus\n"
                 "physician,a,q,m,r2,consensus,\n")
    with pytest.raises(DataError, match=r"bad\.csv:3: field 'value'"):
        read_ratings(p)
    p.write_text("kind,item,qid,source,rater,axis,value\npairwise,a,q,m,r1,better_recall,Tie\n")
    with pytest.raises(DataError, match=r"bad\.csv:2: field 'other_source'"):
        read_ratings(p)
    p.write_text("kind,item,qid,source,rater,axis,value\nphysician,a,q,m,r1,bias,No\nphysician,a,q,m,r2,bias,Maybe\n")
    assert len(read_ratings(p)) == 2                                   # no rubric: values are not checked here
    with pytest.raises(DataError, match=r"bad\.csv:3: field 'value'.*'Maybe'"):
        read_ratings(p, RUBRIC)


def test_ratings_from_store_unblind_sources(tmp_path):
    from clinqa.eval.store import Store
    s = Store(tmp_path / "run")
    for src in ("model", "doc"):
        s.save_answer(dict(qid="q1", source=src, dataset="liveqa", question="?", text=src, model=src, prompt="",
                           params={}, tokens=1, seconds=0.0, extra={}))
    s.save_rating(dict(rating_id="g:1", rater="auto:x", kind="physician", answer_id="model:q1", other_answer_id=None,
                       values={"consensus": "No consensus", "bias": "No"}, ok=True, raw=[], meta={}))
    s.save_rating(dict(rating_id="g:2", rater="auto:x", kind="pairwise", answer_id="doc:q1",
                       other_answer_id="model:q1", values={"better_recall": "Answer 2"}, ok=True, raw=[], meta={}))
    s.save_rating(dict(rating_id="g:3", rater="auto:x", kind="physician", answer_id="doc:q1", other_answer_id=None,
                       values={}, ok=False, raw=["garbage"], meta={}))
    rs = ratings_from_store(s)
    assert {(r.kind, r.source, r.axis, r.value) for r in rs} == {
        ("physician", "model", "consensus", "No consensus"), ("physician", "model", "bias", "No"),
        ("pairwise", "doc", "better_recall", "Answer 2")}
    assert next(r for r in rs if r.kind == "pairwise").other_source == "model"


def test_cli_simulate_then_analyze_writes_report_figures_and_numbers(tmp_path):
    study = tmp_path / "study.csv"
    r = runner.invoke(app, ["rate", "simulate", str(study), "--questions", "40", "--seed", "2"])
    assert r.exit_code == 0 and study.is_file()
    out = tmp_path / "rep"
    r = runner.invoke(app, ["rate", "analyze", str(study), "--out", str(out), "--resamples", "500"])
    assert r.exit_code == 0, r.output
    assert "Randolph" in r.output and "p (Holm)" in r.output
    for name in ("physician_axes", "lay_axes", "pairwise"):
        assert (out / f"{name}.png").read_bytes()[:4] == b"\x89PNG" and b"<svg" in (out / f"{name}.svg").read_bytes()
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3 and 'src="http' not in html
    with open(out / "numbers.csv") as fh:
        rows = list(csv.DictReader(fh))
    got = next(float(x["value"]) for x in rows if x["axis"] == "consensus" and x["source"] == "model"
               and x["statistic"] == "best_bin_share")
    ratings = [x for x in read_ratings(study) if x.axis == "consensus" and x.source == "model" and x.kind == "physician"]
    assert got == pytest.approx(sum(x.value == "Aligned with consensus" for x in ratings) / len(ratings))
    assert {x["section"] for x in rows} == {"independent", "comparison", "pairwise", "reliability"}


def test_cli_analyze_bad_file_names_the_line(tmp_path):
    p = tmp_path / "r.jsonl"
    p.write_text('{"kind": "physician", "item": "a", "source": "m", "rater": "r", "axis": "bias", "value": "No"}\n{oops\n')
    r = runner.invoke(app, ["rate", "analyze", str(p)])
    assert r.exit_code == 2 and "r.jsonl:2" in r.output and "malformed JSON" in r.output


def test_report_includes_bench_runs(tmp_path, sim):
    from clinqa.analysis.report import analyze, write_report
    from clinqa.eval.store import Store
    stores = []
    for name, correct in (("a", [1, 0, 0, 1]), ("b", [1, 1, 1, 1])):
        s = Store(tmp_path / name)
        s.init_run(name, {"dataset": "medqa", "strategy": name, "model": "tiny"}, {})
        for i, c in enumerate(correct):
            s.save_result(dict(qid=f"q{i}", position=i, dataset="medqa", subject=None, gold="A",
                               prediction="A" if c else "B", correct=bool(c), n_samples=1, n_unparsed=0, tokens=1,
                               seconds=0.1, votes={}, samples=[], prompts={}, scores=None, meta={}))
        stores.append(s)
    a = analyze(sim[:600], RUBRIC, n_resamples=200, bench_stores=stores)
    assert a.bench_pairs[0][2].only_b == 2 and a.bench[1][1][0].accuracy.estimate == 1.0
    html = write_report(a, RUBRIC, tmp_path / "rep").read_text()
    assert "Multiple-choice accuracy" in html and "McNemar" in html
    assert (tmp_path / "rep" / "accuracy_by_strategy.svg").is_file()
    assert not math.isnan(a.bench_pairs[0][2].mcnemar_p)
