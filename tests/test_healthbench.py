"""HealthBench loading, grading and scoring as simple-evals does it, and its meta-eval, offline on the sample files
(written by us in HealthBench's exact schema) with scripted graders."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from clinqa.data.errors import DataError
from clinqa.data.loaders.healthbench import SAMPLE, RubricItem, load_examples
from clinqa.eval import EvalConfig, GivenCompletions, run_eval
from clinqa.eval.healthbench import (
    HealthBenchScorer,
    example_metrics,
    healthbench_metrics,
    parse_criteria_met,
    parse_rate,
)
from clinqa.eval.healthbench import rubric_score as score
from clinqa.eval.healthbench_meta import MetaRow, balanced_f1, load_meta, meta_eval

META = SAMPLE.with_name("sample_meta_eval.jsonl")


def test_sample_loads_in_healthbench_schema():
    exs = load_examples()
    assert len(exs) == 4 and all(e.prompt_id and e.rubrics for e in exs)
    assert any(i.points < 0 for e in exs for i in e.rubrics)
    assert sum(e.ideal_completion is not None for e in exs) == 3
    assert str(exs[0].rubrics[0]).startswith("[10.0] Tells the user to call emergency services")
    assert len(load_meta(META)) == 8


def test_bad_files_name_line_and_field(tmp_path):
    p = tmp_path / "hb.jsonl"
    row = json.loads(SAMPLE.read_text().splitlines()[0])
    bad = dict(row, rubrics=[{"criterion": "x", "points": 1}])
    p.write_text(json.dumps(row) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(DataError, match=r"hb.jsonl:2: field 'rubrics\[0\]'"):
        load_examples(p)
    p.write_text(json.dumps({k: v for k, v in row.items() if k != "prompt_id"}) + "\n")
    with pytest.raises(DataError, match="hb.jsonl:1: field 'prompt_id'"):
        load_examples(p)


def test_scores_follow_simple_evals():
    items = [RubricItem("a", 10, ("axis:accuracy",)), RubricItem("b", 5, ("axis:completeness",)),
             RubricItem("c", -5, ("axis:accuracy",))]
    assert score(items, [True, False, True]) == pytest.approx((10 - 5) / 15)
    assert score(items, [False, False, True]) == pytest.approx(-5 / 15)          # an example may go below 0
    m = example_metrics(items, ["theme:x"], [True, True, False])
    assert m["overall_score"] == 1.0 and m["theme:x"] == 1.0
    assert m["axis:accuracy"] == 1.0 and m["axis:completeness"] == 1.0
    assert parse_criteria_met('```json\n{"explanation": "ok", "criteria_met": false}\n```') is False
    with pytest.raises(ValueError):
        parse_criteria_met('{"criteria_met": "yes"}')


def test_grading_with_a_scripted_grader_reports_scores_and_parse_rate(scripted, tmp_path):
    def respond(req, i):
        if "Mentions noting the time" in req.prompt:
            return "I think it is met."                                             # never parses
        return json.dumps({"explanation": "-", "criteria_met": "[-" not in req.prompt.split("# Rubric item")[1]})
    store = run_eval("healthbench", scripted(respond), EvalConfig(run_dir=str(tmp_path / "hb")),
                     solver=GivenCompletions(), scorers=[HealthBenchScorer(retries=1)])
    rows = store.results()
    assert len(rows) == 3                              # the example without an ideal completion has nothing to grade
    assert parse_rate(rows) == (12, 13)
    metrics = healthbench_metrics(rows, n_boot=200)
    # example 1 has an unparsed criterion: left out; examples 3 and 4 meet all positive, no negative criteria
    overall, n = metrics["overall_score"]
    assert n == 2 and overall.estimate == 1.0
    assert metrics["theme:global_health"][0].estimate == 1.0 and "theme:emergency_referrals" not in metrics


def test_meta_eval_matches_simple_evals_pairwise_f1():
    # simple-evals' own test case: self [T, F, T], others [[T, T, F], [T, F], [F]]
    pairs = [(True, True), (True, True), (True, False), (False, True), (False, False), (True, False)]
    f1_pos = 2 * (2 / 4) * (2 / 3) / (2 / 4 + 2 / 3)
    f1_neg = 2 * (1 / 2) * (1 / 3) / (1 / 2 + 1 / 3)
    assert balanced_f1(pairs) == pytest.approx((f1_pos + f1_neg) / 2)
    rows = load_meta(META)
    majority = [sum(r.labels) * 2 > len(r.labels) for r in rows]
    perfect = meta_eval(rows, majority, n_boot=200)
    contrary = meta_eval(rows, [not m for m in majority], n_boot=200)
    assert perfect.model_f1.estimate > perfect.physician_f1.estimate > contrary.model_f1.estimate
    assert perfect.parsed == 8 and set(perfect.by_category) == {"cluster:emergency_referrals_emergent",
                                                                "cluster:hedging_no_uncertainty"}
    one = meta_eval([MetaRow([], "c", "r", [True, False], ["a", "b"], "x", "c1")], [None], n_boot=10)
    assert one.parsed == 0 and np.isnan(one.model_f1.estimate)


def test_healthbench_commands(monkeypatch, scripted, tmp_path):
    import clinqa.cli.judge_run as more
    import clinqa.eval.run as run
    from clinqa.cli import app
    monkeypatch.setattr(more, "_load", lambda name: scripted(lambda r, i: '{"criteria_met": true}'))
    monkeypatch.setattr(run, "load_model", lambda name, **kw: scripted(lambda r, i: '{"criteria_met": true}'))
    runner = CliRunner()
    r = runner.invoke(app, ["judge", "healthbench", "sample", "--grader", "x", "--out", str(tmp_path / "o.json"),
                            "--run-dir", str(tmp_path / "run")])
    assert r.exit_code == 0, r.output
    assert "parse rate: 13/13" in r.output and "overall_score" in r.output
    assert json.loads((tmp_path / "o.json").read_text())["metrics"]["overall_score"][3] == 3
    r = runner.invoke(app, ["judge", "healthbench-meta", "sample", "--grader", "x"])
    assert r.exit_code == 0 and "8/8 criteria parsed" in r.output
    r = runner.invoke(app, ["judge", "healthbench", str(tmp_path / "none.jsonl"), "--grader", "x",
                            "--run-dir", str(tmp_path / "none")])
    assert r.exit_code == 2 and "none.jsonl: no such file" in r.output


def test_bench_runs_healthbench_as_a_task(tiny_model_dir):
    """`clinqa bench --task healthbench`: the model answers each conversation and the grader grades every criterion."""
    from typer.testing import CliRunner

    from clinqa.cli import app
    first = load_examples(SAMPLE)[0]
    r = CliRunner().invoke(app, ["bench", "--task", "healthbench", "--model", str(tiny_model_dir), "--limit", "1",
                                 "--order", "id", "--max-tokens", "8"])
    assert r.exit_code == 0, r.output
    assert "HealthBench (1 examples)" in r.output
    assert f"/{len(first.rubrics)} criteria" in r.output      # every criterion of the one example was graded


def test_criteria_are_graded_in_one_call_per_round_and_as_one_at_a_time(scripted):
    """Every case's first attempt goes out in one generate call, retries only for the unparsed ones; each case's
    grade and raw replies equal grading it alone."""
    from clinqa.eval.healthbench import grade_criteria, grade_criterion

    def respond(req, i):      # criteria mentioning "vague" are answered in prose at the greedy attempt
        if "vague" in req.prompt and req.temperature == 0:
            return "I think so."
        return json.dumps({"explanation": "-", "criteria_met": "fever" in req.prompt and req.seed % 2 == 0})
    cases = [("user: fever?\n\nassistant: rest", "mentions fever", 4), ("user: cough", "vague criterion", 7),
             ("user: rash", "mentions rash", 2)]
    class Calls(scripted):
        calls: list = []

        def _generate(self, requests):
            self.calls.append(len(requests))
            return super()._generate(requests)
    be = Calls(respond)
    batched = grade_criteria(be, cases, retries=2)
    assert be.calls == [3, 1] and [r.seed for r in be.requests] == [4, 7, 2, 8]
    assert batched == [grade_criterion(scripted(respond), *c[:2], seed=c[2], retries=2) for c in cases]
    assert [g[0] for g in batched] == [True, False, False] and len(batched[1][1]) == 2
