"""Strategies against a scripted backend: what they send to the model and how they vote."""

import itertools

from clinqa.data.records import MCQuestion
from clinqa.prompts import COT_LEAD, ER_SUFFIX
from clinqa.eval import SampleContext
from clinqa.eval.store import Store
from clinqa.strategies import StrategyConfig, make_strategy
from clinqa.strategies.shuffle import permutations
from clinqa.strategies.vote import plurality, tally

Q = MCQuestion("q1", "Which drug?", {"A": "aspirin", "B": "heparin", "C": "warfarin", "D": "alteplase"}, "C", "t", "test")
EX = [MCQuestion(f"e{i}", f"ex {i}?", {"A": "x", "B": "y", "C": "z", "D": "w"}, "B", "ex", "fixed",
                 explanation=f"because {i}") for i in range(5)]


def ctx(tmp_path, backend):
    return SampleContext(Store(tmp_path / "run"), backend, Q.id, 7)


def test_plurality_and_ties():
    assert plurality(["A", "B", "B", None, "A", "C"]) == "A"       # tie A/B: A came first
    assert plurality([None, None]) is None
    assert tally(["A", None, "A", "B"]) == {"A": 2, "B": 1}


def test_er_two_stages(tmp_path, scripted):
    stage1 = itertools.cycle(["reason one. Answer: (A)", "reason two. Answer: (C)", "reason three. Answer: (C)"])

    def respond(req, i):
        if "Students' reasonings" in req.prompt:
            return "Refined. The answer is (B)" if i % 3 == 0 else "Refined. The answer is (C)"
        return next(stage1)
    be = scripted(respond)
    out = make_strategy("er", StrategyConfig(n_samples=11, n_refine=33)).run(Q, EX, ctx(tmp_path, be))
    assert [r.n for r in be.requests] == [11, 33]                  # 11 paths, then 33 refinements from ONE prompt
    assert all(r.temperature == 0.7 for r in be.requests)
    p2 = be.requests[1].prompt
    assert ER_SUFFIX in p2 and "11 reasoning: " in p2 and "12 reasoning" not in p2
    assert "Answer: (A)" not in p2.split("Students' reasonings:")[1], "student reasonings carry no answer line"
    assert be.requests[1].prefix == COT_LEAD
    assert out.votes == {"B": 11, "C": 22} and out.prediction == "C"
    assert len(out.samples) == 44 and out.meta["stage1_votes"] == {"A": 4, "C": 7}
    assert be.requests[0].seed != be.requests[1].seed


def test_sc_votes_over_samples(tmp_path, scripted):
    answers = iter("ABBCBAB??BA")
    be = scripted(lambda r, i: f"so the answer is ({next(answers)})")
    out = make_strategy("sc", StrategyConfig(n_samples=11)).run(Q, EX, ctx(tmp_path, be))
    assert out.prediction == "B" and out.votes == {"A": 3, "B": 5, "C": 1} and out.n_unparsed == 2


def test_fewshot_and_cot_are_greedy(tmp_path, scripted):
    be = scripted(lambda r, i: " (C)")
    out = make_strategy("fewshot").run(Q, EX, ctx(tmp_path, be))
    assert out.prediction == "C" and be.requests[0].temperature == 0 and be.requests[0].n == 1
    assert be.requests[0].prompt.count("Answer: (B)") == 5
    be2 = scripted(lambda r, i: "Warfarin is a vitamin K antagonist. Answer: (C)")
    out2 = make_strategy("cot").run(Q, EX, ctx(tmp_path / "2", be2))
    assert out2.prediction == "C" and "because 3" in be2.requests[0].prompt and be2.requests[0].prefix == COT_LEAD


def test_shuffle_maps_votes_back(tmp_path, scripted):
    # the model always picks whatever option is displayed with the text 'warfarin' -> always original C
    def respond(req, i):
        for line in req.prompt.splitlines()[::-1]:
            if line.endswith(") warfarin"):
                return f"The answer is {line[1]}"
    be = scripted(respond)
    out = make_strategy("shuffle", StrategyConfig(n_samples=5)).run(Q, EX, ctx(tmp_path, be))
    assert out.prediction == "C" and out.votes == {"C": 5}
    orders = [s.order for s in out.samples]
    assert orders[0] == list("ABCD") and len({tuple(o) for o in orders}) > 1


def test_permutations_are_seeded():
    assert permutations(list("ABCD"), 5, 3) == permutations(list("ABCD"), 5, 3)
    assert permutations(list("ABCD"), 5, 3) != permutations(list("ABCD"), 5, 4)


def test_generation_cache_resumes_between_stages(tmp_path, scripted):
    be = scripted(lambda r, i: "The answer is (A)")
    c = ctx(tmp_path, be)
    make_strategy("er", StrategyConfig(n_samples=3, n_refine=4)).run(Q, EX, c)
    be2 = scripted(lambda r, i: "The answer is (D)")
    out = make_strategy("er", StrategyConfig(n_samples=3, n_refine=4)).run(Q, EX, ctx(tmp_path, be2))
    assert be2.requests == [] and out.prediction == "A"           # everything came from the store


def test_cache_misses_when_the_prompt_changed(tmp_path, scripted):
    """A cached stage is reused only for the identical request: a stage-2 prompt built from other reasonings is new."""
    from clinqa.models.base import GenRequest
    be = scripted(lambda r, i: "x")
    c = ctx(tmp_path, be)
    c.generate("er2", GenRequest("prompt one", n=2))
    c.generate("er2", GenRequest("prompt one", n=2))
    assert len(be.requests) == 1
    c.generate("er2", GenRequest("prompt two", n=2))
    assert len(be.requests) == 2
    assert c.store.cached_generation(Q.id, "er2").rendered_prompt == "prompt two"
