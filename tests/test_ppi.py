"""Prediction-powered estimates: simulation with a judge biased by a known amount (a few hundred studies; the
1,000-study numbers are in benchmarks/ppi_coverage.py and the README), active selection, and the unit behaviour."""

import json

import numpy as np
import pytest

from clinqa.analysis.active import read_design, sampling_probabilities, select, write_design
from clinqa.analysis.ppi import active_mean, human_only, judge_only, power_tuned_lambda, ppi_mean
from clinqa.analysis.ppi_sim import SimDesign, summarize
from clinqa.data.errors import DataError


@pytest.mark.parametrize("jury", [False, True])
def test_ppi_covers_the_truth_where_the_biased_judge_does_not(jury):
    d = SimDesign(jury=jury)
    res = summarize(d, 400, seed=1)   # 400 studies: Monte Carlo SE ~1.1 points; 3,000 give 94.0% / 94.6%
    cover, width = res["PPI++"]
    assert 0.93 <= cover <= 0.97
    assert res["judge-only"][0] < 0.05                 # biased judge: its interval misses the truth
    assert 0.93 <= res["human-only"][0] <= 0.97
    assert width < res["human-only"][1]                # narrower than physicians alone
    if jury:
        assert width / res["human-only"][1] < 0.8


def test_active_sampling_stays_valid_and_is_not_wider():
    res = summarize(SimDesign(jury=True), 400, seed=1, active=True)
    assert 0.93 <= res["active"][0] <= 0.97
    assert res["active"][1] <= res["uniform"][1] * 1.01


def test_lambda_zero_is_human_only_and_a_perfect_judge_shrinks_the_interval():
    rng = np.random.default_rng(0)
    y = rng.random(50)
    fu = rng.random(500)
    h, p0 = human_only(y), ppi_mean(y, y, fu, lam=0.0)
    assert p0.estimate == pytest.approx(h.estimate) and p0.width == pytest.approx(h.width)
    perfect = ppi_mean(y, y, rng.random(5000))
    assert perfect.lam == pytest.approx(1 / (1 + 50 / 5000), rel=0.05)
    assert perfect.width < 0.35 * h.width


def test_power_tuning_ignores_a_useless_judge():
    rng = np.random.default_rng(1)
    y = rng.random(200)
    assert power_tuned_lambda(y, rng.random(200), rng.random(2000)) < 0.2
    assert power_tuned_lambda(y, -y, rng.random(2000)) == 0.0      # anti-correlated: clipped


def test_estimates_reject_bad_input():
    with pytest.raises(ValueError, match="align"):
        ppi_mean([1, 0, 1], [1, 0], [1])
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        active_mean([1, 0], [1, 0], [True, True], [0.0, 0.5])
    assert judge_only([1, 1, 0, 1]).estimate == 0.75


def test_sampling_probabilities_favour_uncertain_answers_and_meet_the_budget():
    p = np.array([0.5, 0.5, 0.99, 0.99, 0.01, 0.9] * 20)
    pi = sampling_probabilities(p, budget=30)
    assert pi.sum() == pytest.approx(30)
    assert pi[0] > pi[5] > pi[2] > 0 and pi.max() <= 1
    assert sampling_probabilities(p, budget=len(p)).min() == pytest.approx(1.0)
    rows = select([f"a{i}" for i in range(len(p))], p, 30, seed=1)
    assert {r["answer_id"] for r in rows} == {f"a{i}" for i in range(len(p))}
    assert sum(r["selected"] for r in rows) > 10


def test_design_file_round_trip_and_errors(tmp_path):
    rows = select(["a", "b", "c"], [0.5, 0.9, 0.1], 2, seed=0)
    got = read_design(write_design(rows, tmp_path / "d.jsonl"))
    assert got["a"][0] == pytest.approx(rows[0]["probability"])
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"answer_id": "a", "probability": 0.5, "selected": True}) + "\n"
                   + json.dumps({"answer_id": "b", "probability": 0, "selected": False}) + "\n")
    with pytest.raises(DataError, match=r"bad.jsonl:2: field 'probability'"):
        read_design(bad)
