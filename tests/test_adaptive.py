"""Adaptive stopping: the rules, and SC/ER drawing fewer samples without changing a settled vote."""

import pytest

from clinqa.data.records import MCQuestion
from clinqa.eval import SampleContext
from clinqa.eval.store import Store
from clinqa.strategies import StrategyConfig, make_strategy
from clinqa.strategies.adaptive import AdaptiveRule, beta_confident, leader_certain, should_stop

Q = MCQuestion("q1", "Which?", {"A": "a", "B": "b", "C": "c", "D": "d"}, "C", "t", "test")


def test_certain_rule():
    assert leader_certain(["A"] * 6, remaining=5)          # 6 - 0 > 5
    assert not leader_certain(["A"] * 5, remaining=5)
    assert not leader_certain(["A", "A", "B"], remaining=2)
    assert not leader_certain([None, None], remaining=0)


def test_beta_rule_matches_closed_form():
    # v1=4, v2=0: P(Beta(5,1) > .5) = 1 - .5**5 = .96875
    assert beta_confident(["A"] * 4, 0.96) and not beta_confident(["A"] * 4, 0.97)
    assert not beta_confident(["A", "B", "A", "B"], 0.95)


def test_should_stop_never_exceeds_budget():
    r = AdaptiveRule(batch=4, rule="beta", confidence=0.99)
    assert should_stop(["A", "B"] * 5 + ["C"], 11, r)    # budget spent
    assert not should_stop(["A", "B", "A"], 11, r)
    with pytest.raises(ValueError):
        AdaptiveRule(rule="vibes")


def run(tmp_path, scripted, strategy, answers_for, rule):
    be = scripted(answers_for)
    cfg = StrategyConfig(n_samples=11, n_refine=33, adaptive=rule)
    out = make_strategy(strategy, cfg).run(Q, [], SampleContext(Store(tmp_path / strategy), be, Q.id, 1))
    return out, be


def test_sc_stops_early_on_agreement(tmp_path, scripted):
    out, be = run(tmp_path, scripted, "sc", lambda r, i: "The answer is (C)", AdaptiveRule(batch=3))
    assert out.prediction == "C" and len(out.samples) == 6      # 3: P=.9375 < .95; 6: P>.99
    assert [r.n for r in be.requests] == [3, 3] and len({r.seed for r in be.requests}) == 2


def test_sc_uses_full_budget_when_split(tmp_path, scripted):
    it = iter("ABABABABABA")
    out, _ = run(tmp_path, scripted, "sc", lambda r, i: f"answer is ({next(it)})", AdaptiveRule(batch=4))
    assert len(out.samples) == 11 and out.prediction == "A"


def test_er_adaptive_both_stages(tmp_path, scripted):
    out, be = run(tmp_path, scripted, "er", lambda r, i: "so the answer is (B)", AdaptiveRule(batch=4, rule="certain"))
    # certain rule: stage 1 stops at 8 (8 - 0 > 3 left); stage 2 at 20 (20 > 13 left)
    s1 = [s for s in out.samples if s.stage == "er1"]
    s2 = [s for s in out.samples if s.stage == "er2"]
    assert (len(s1), len(s2)) == (8, 20) and out.prediction == "B"
    assert "8 reasoning:" in be.requests[2].prompt and "9 reasoning:" not in be.requests[2].prompt
