"""`clinqa export lm-eval`, `clinqa export inspect` and `clinqa report` on a run of every task kind (multiple choice,
long-form, rubric-graded, a task's own scorers), built quickly with the committed fixture tasks and scripted models:
each file's metric values equal what the test computes from the store's rows itself, and every sample carries its
input, output, target and scores. A run with no finished samples is refused with an error naming it."""

from __future__ import annotations

import html
import json
import math
import statistics
import sys
from importlib import import_module
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clinqa.cli import app
from clinqa.eval import EvalConfig, GivenCompletions, Score, run_eval
from clinqa.eval.healthbench import HealthBenchScorer, healthbench_metrics
from clinqa.eval.store import Store

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "fixtures" / "tasks"), str(ROOT / "examples")]
import fixture_tasks  # noqa: E402

runner = CliRunner()


def mc_reply(request, i):
    return f"The answer is ({'ABCD'[len(request.prompt) % 4]})."


def longform_reply(request, i):
    return " ".join(["rest and fluids"] * (len(request.conversation()[-1]["content"]) % 5 + 1))


def grader_reply(request, i):
    """Met when the criterion's points are positive and the reply mentions its first word; prose (unparsed) for
    criteria that mention "before"."""
    item = request.conversation()[-1]["content"].split("# Rubric item")[1]
    if "before" in item:
        return "I think it is met."
    return json.dumps({"explanation": "checked", "criteria_met": "[-" not in item and len(item) % 3 != 0})


drug_classes = import_module("drug_classes")      # examples/drug_classes.py: a task with its own solver and scorer


def drug_reply(request, i):
    """The right class for drugs with a name of even length, a wrong one otherwise."""
    drug = request.conversation()[-1]["content"].split(" does ")[1].split(" belong")[0]
    return f"It is a {drug_classes.DRUGS[drug] if len(drug) % 2 == 0 else 'vitamin'}."


def words(sample, outcome, ctx):
    """A numeric scorer beside the task's true/false one."""
    return Score(len(outcome.completion.split()) / 10, None, "words / 10")


@pytest.fixture(scope="module")
def runs(tmp_path_factory, request):
    from conftest import ScriptedBackend
    root = tmp_path_factory.mktemp("kinds")

    def cfg(name, **kw):
        return EvalConfig(run_dir=str(root / name), model="scripted-model", order="id", **kw)
    return {
        "mc": run_eval(fixture_tasks.mc20, ScriptedBackend(mc_reply), cfg("mc", strategy="fewshot", limit=8)),
        "longform": run_eval(fixture_tasks.longform20, ScriptedBackend(longform_reply), cfg("longform", limit=6)),
        "rubric": run_eval(fixture_tasks.healthbench20, ScriptedBackend(grader_reply), cfg("rubric", limit=8,
                           grader="scripted-model"), solver=GivenCompletions(), scorers=[HealthBenchScorer(retries=0)]),
        "custom": run_eval(drug_classes.drug_classes, ScriptedBackend(drug_reply), cfg("custom"),
                           scorers=[drug_classes.names_the_class, words]),
    }


def mean(values):
    return sum(values) / len(values)


def expected_metrics(kind: str, rows: list[dict]) -> dict[str, float]:
    """The metrics of each kind, computed here from the stored rows."""
    if kind == "mc":
        return {"acc": mean([1.0 if r["score"]["choice"]["value"] else 0.0 for r in rows])}
    if kind == "rubric":
        grades = [r["score"]["healthbench"]["metadata"] for r in rows]
        met = [m for g in grades for m in g["criteria_met"]]
        overall = [g["metrics"]["overall_score"] for g in grades if g["metrics"]]
        return {"overall_score": min(1.0, max(0.0, mean(overall))),
                "parse_rate": sum(m is not None for m in met) / len(met)}
    out = {"tokens": mean([r["tokens"] for r in rows])}
    if kind == "custom":
        out["names_the_class"] = mean([float(r["score"]["names_the_class"]["value"]) for r in rows])
        out["words"] = mean([r["score"]["words"]["value"] for r in rows])
    return out


KINDS = ["mc", "longform", "rubric", "custom"]


def test_the_runs_cover_every_kind_with_a_spread_of_scores(runs):
    from clinqa.eval.summary import run_kind
    for kind, store in runs.items():
        rows = store.results()
        assert run_kind(rows) == kind
        for name, value in expected_metrics(kind, rows).items():
            if name != "tokens":
                assert 0 < value < 1, (kind, name, value)     # the exports must tell right from wrong


@pytest.mark.parametrize("kind", KINDS)
def test_lmeval_export_has_each_kinds_metrics(runs, kind, tmp_path):
    from lm_eval.utils import make_table
    store = runs[kind]
    res = runner.invoke(app, ["export", "lm-eval", str(store.dir), "--out", str(tmp_path / "lm")])
    assert res.exit_code == 0, res.output
    [folder] = (tmp_path / "lm").iterdir()
    [results] = folder.glob("results_*.json")
    [samples] = folder.glob("samples_*.jsonl")
    ours = json.loads(results.read_text())
    [task] = ours["results"]
    got, rows = ours["results"][task], store.results()
    assert got["sample_len"] == len(rows)
    for name, value in expected_metrics(kind, rows).items():
        assert got[f"{name},none"] == pytest.approx(value), name
    if kind == "rubric":
        iv, n = healthbench_metrics(rows)["overall_score"]
        assert (got["overall_score_ci_low,none"], got["overall_score_ci_high,none"]) == pytest.approx((iv.low, iv.high))
        assert got["overall_score_stderr,none"] == "N/A" and iv.low <= got["overall_score,none"] <= iv.high
    else:
        name = {"mc": "acc", "longform": "tokens", "custom": "names_the_class"}[kind]
        values = ([1.0 if r["correct"] else 0.0 for r in rows] if kind == "mc" else
                  [r["tokens"] for r in rows] if kind == "longform" else
                  [float(r["score"]["names_the_class"]["value"]) for r in rows])
        assert got[f"{name}_stderr,none"] == pytest.approx(statistics.stdev(values) / math.sqrt(len(values)))
    table = make_table(ours)                          # lm-eval's own table of its results
    assert all(name in table for name in expected_metrics(kind, rows))
    lines = [json.loads(x) for x in samples.read_text().splitlines()]
    assert [x["doc"]["id"] for x in lines] == [r["qid"] for r in rows]
    for x, r in zip(lines, rows):
        meta = r["meta"]
        assert x["output"] == (meta.get("completion") or next(s["text"] for s in r["samples"]
                                                              if s["answer"] == r["prediction"]))
        assert x["scores"] == (r["score"] or {})
        if kind == "mc":
            assert x["doc"]["question"] == meta["question"] and x["target"] == r["gold"]
            assert x["acc"] == (1.0 if r["correct"] else 0.0)
        else:
            assert x["doc"]["messages"] == meta["input"]
        if kind == "rubric":
            assert json.loads(x["target"]) == r["score"]["healthbench"]["metadata"]["criteria"]
            per_example = r["score"]["healthbench"]["metadata"]["metrics"] or {}
            assert x.get("overall_score") == per_example.get("overall_score")
        if kind == "custom":
            assert x["target"] == drug_classes.DRUGS[r["qid"].removeprefix("drug-")]
            assert x["names_the_class"] == float(r["score"]["names_the_class"]["value"])
            assert x["words"] == r["score"]["words"]["value"]
        if kind == "longform":
            assert x["tokens"] == r["tokens"]


@pytest.mark.parametrize("kind", KINDS)
def test_inspect_export_reads_back_for_every_kind(runs, kind, tmp_path):
    from inspect_ai.log import read_eval_log
    store = runs[kind]
    res = runner.invoke(app, ["export", "inspect", str(store.dir), "--out", str(tmp_path / "log.eval")])
    assert res.exit_code == 0, res.output
    log = read_eval_log(str(tmp_path / "log.eval"))
    rows = store.results()
    assert log.status == "success" and log.eval.metadata["kind"] == kind and len(log.samples) == len(rows)
    scores = {s.name: s.metrics for s in log.results.scores}
    expected = expected_metrics(kind, rows)
    if kind == "mc":
        assert scores["choice"]["accuracy"].value == pytest.approx(expected["acc"])
    if kind == "rubric":
        assert scores["healthbench"]["overall_score"].value == pytest.approx(expected["overall_score"])
        assert scores["healthbench"]["parse_rate"].value == pytest.approx(expected["parse_rate"])
    if kind == "custom":
        assert scores["names_the_class"]["accuracy"].value == pytest.approx(expected["names_the_class"])
        assert scores["words"]["mean"].value == pytest.approx(expected["words"])
    if kind == "longform":
        assert scores == {}                                  # nothing scored it: answers are rated afterwards
    by_id = {s.id: s for s in log.samples}
    for r in rows:
        s = by_id[r["qid"]]
        assert s.output.completion == (r["meta"].get("completion") or next(x["text"] for x in r["samples"]
                                                                           if x["answer"] == r["prediction"]))
        if kind == "mc":
            assert s.input == r["meta"]["question"] and s.target == r["gold"]
        else:
            assert [(m.role, m.text) for m in s.input] == [(m["role"], m["content"]) for m in r["meta"]["input"]]
        if kind == "rubric":
            assert s.target == r["score"]["healthbench"]["metadata"]["criteria"]
        for name, score in (r["score"] or {}).items():
            v = score["value"]
            assert s.scores[name].value == (("C" if v else "I") if isinstance(v, bool) else
                                            pytest.approx(v) if v is not None else pytest.approx(math.nan, nan_ok=True))


@pytest.mark.parametrize("kind", KINDS)
def test_report_writes_each_kinds_metrics_and_samples(runs, kind, tmp_path):
    store = runs[kind]
    out = tmp_path / "report.html"
    res = runner.invoke(app, ["report", str(store.dir), "--out", str(out)])
    assert res.exit_code == 0, res.output
    page = html.unescape(out.read_text())
    rows = store.results()
    expected = expected_metrics(kind, rows)
    if kind == "mc":
        assert f"{100 * expected['acc']:.1f} [" in page and (out.with_suffix(".png")).is_file()
    else:
        assert not out.with_suffix(".png").exists()
        for name, value in expected.items():
            assert f"<td>{name}</td>" in page, name
            assert f"<td>{value:.3f}</td>" in page, (name, value)
        for r in rows:
            assert r["qid"] in page and r["meta"]["completion"] in page
            assert r["meta"]["input"][-1]["content"] in page
    if kind == "rubric":
        graded = next(r for r in rows if any(m is False for m in r["score"]["healthbench"]["metadata"]["criteria_met"]))
        meta = graded["score"]["healthbench"]["metadata"]
        for text, met in zip(meta["criteria"], meta["criteria_met"]):
            grade = "met" if met else "not met" if met is not None else "unparsed"
            assert f"<td>{text}</td><td>{grade}</td>" in page
        assert "grader parse rate:" in res.output
    if kind == "custom":
        assert "words / 10" in page                              # a scorer's explanation


def test_a_run_with_no_finished_samples_is_refused_naming_it(tmp_path):
    empty = tmp_path / "empty-run"
    Store(empty).init_run("empty-run", EvalConfig(dataset="mc20").identity(), {})
    for args in (["export", "lm-eval"], ["export", "inspect"], ["report"]):
        res = runner.invoke(app, [*args, str(empty)])
        text = res.output.replace("\n", "")
        assert res.exit_code == 2 and f"{empty}: no finished samples" in text, (args, res.output)
    res = runner.invoke(app, ["export", "lm-eval", str(tmp_path / "nowhere")])
    assert res.exit_code == 2 and "nowhere: no results.sqlite here" in res.output.replace("\n", "")


def test_one_report_of_runs_of_every_kind(runs, tmp_path):
    out = tmp_path / "all.html"
    res = runner.invoke(app, ["report", *(str(runs[k].dir) for k in KINDS), "--out", str(out)])
    assert res.exit_code == 0, res.output
    page = html.unescape(out.read_text())
    assert page.count("<h2>") == len(KINDS) and out.with_suffix(".png").is_file()   # the plot: the mc run only
    for kind in ("longform", "rubric", "custom"):
        assert f"{kind} run: {len(runs[kind].results())} samples" in page
    assert "Extracted letters beside the gold answers" in page


def test_longform_references_reach_the_exports(tmp_path, scripted):
    """A long-form sample's reference answers are stored with its result and exported as its target."""
    from clinqa.eval.summary import row_target
    task = str(ROOT / "tests" / "fixtures" / "tasks" / "longform20.jsonl")
    store = run_eval(task, scripted(lambda r, i: "Rest."), EvalConfig(run_dir=str(tmp_path / "lf"), limit=2))
    refs = {json.loads(line)["id"]: json.loads(line)["answer"]
            for line in open(task, encoding="utf-8") if line.strip()}
    assert {r["qid"]: row_target(r) for r in store.results()} == {r["qid"]: [refs[r["qid"]]] for r in store.results()}
