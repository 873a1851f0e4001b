"""`clinqa run plan.yaml`: plan validation names the line; failing cells are retried and reported while the others
finish; a second run does no finished work; the report shows cells not run as missing (not zero); the dry run counts
generations from the strategies' own prompts. The Ray executor has its own test (test_plan_ray.py)."""

from __future__ import annotations

import csv
import json
import textwrap
from pathlib import Path

import pytest

from clinqa.data.errors import DataError
from clinqa.data.registry import data_root
from clinqa.models import resolve
from clinqa.plan import cells as cells_api
from clinqa.plan.execute import Executor, InProcessPool
from clinqa.plan.expand import Cell, expand
from clinqa.plan.load import load_plan
from clinqa.plan.report import write_plan_report
from clinqa.plan.run import dry_run, execute, report, survey
from clinqa.plan.state import run_cell
from clinqa.data.rubric import load_rubric
from clinqa.eval.store import Store

PLAN = """\
name: t
models:
  - name: m
    spec: smollm2-135m-instruct
multiple_choice:
  tasks: [medqa]
  strategies:
    - {name: cot}
    - {name: er, n_samples: 3, n_refine: 2}
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "plan.yaml"
    p.write_text(textwrap.dedent(text))
    return p


@pytest.mark.parametrize("edit, line, words", [
    (("{name: er, n_samples: 3", "{name: err, n_samples: 3"), 9, "unknown strategy 'err'"),
    (("    - {name: cot}", "    - {name: cot, n_sample: 3}"), 8, "n_sample"),
    (("tasks: [medqa]", "tasks: [medqa, liveqa]"), 6, "'liveqa' is not a multiple-choice task"),
    (("{name: er, n_samples: 3", "{name: er, n_samples: -3"), 9, "greater than or equal to 1"),
    (("    spec: smollm2-135m-instruct\n", ""), 3, "spec"),
    (("strategies:", "models: [other]\n  strategies:"), 7, "unknown model 'other'"),
])
def test_validation_errors_name_the_line(tmp_path, edit, line, words):
    path = write(tmp_path, PLAN.replace(*edit))
    with pytest.raises(DataError) as e:
        load_plan(path)
    assert f"{path}:{line}:" in str(e.value)
    assert words in str(e.value)


def test_imported_answers_belong_to_one_set(tmp_path):
    (tmp_path / "doc.csv").write_text("question_id,answer\nq1,a\n")
    path = write(tmp_path, PLAN + "longform:\n  sources:\n    - {model: m}\n    - {import: doc.csv, source: doc}\n"
                 "  sets: [{task: liveqa}]\n")
    with pytest.raises(DataError, match=r"plan.yaml:13: field 'longform.sources\[1\].import': an imported answers"):
        load_plan(path)


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = write(tmp_path, PLAN.replace("tasks: [medqa]", "tasks: [medqa"))
    with pytest.raises(DataError, match=r"plan.yaml:\d+: not valid YAML"):
        load_plan(path)


def test_valid_plan_expands_to_cells(tmp_path):
    plan = load_plan(write(tmp_path, PLAN))
    cells, notes = expand(plan, tmp_path / "root")
    assert [c.id for c in cells] == ["mc/medqa/cot/m", "mc/medqa/er/m"]
    assert cells[1].params["n_samples"] == 3 and cells[1].params["n_refine"] == 2
    assert cells[0].run_dir.startswith("mc/medqa-default-cot-") and notes == []


def test_shipped_plans_validate():
    for name in ("medpalm2", "smoke"):
        plan = load_plan(Path(__file__).parents[1] / "plans" / f"{name}.yaml")
        assert plan.models and plan.multiple_choice and plan.longform


# -- retries ----------------------------------------------------------------------------------------------------------
def test_failing_cell_is_retried_and_the_others_finish(tmp_path):
    calls: dict[str, int] = {}

    def runner(cell, root, progress):
        calls[cell["id"]] = calls.get(cell["id"], 0) + 1
        if cell["id"] == "flaky" and calls["flaky"] < 3:
            raise TimeoutError("server timed out")
        if cell["id"] == "broken":
            raise RuntimeError("backend error")
        return cell["id"]

    cells = [Cell("flaky", "mc", "a", {}), Cell("broken", "mc", "b", {}), Cell("fine", "mc", "c", {}),
             Cell("after-broken", "grade", "d", {}, deps=["broken"]), Cell("after-flaky", "grade", "e", {},
                                                                            deps=["flaky"])]
    runs = Executor(cells, InProcessPool(tmp_path, runner), tries=3, backoff_s=0.01).run()
    assert {k: r.status for k, r in runs.items()} == {
        "flaky": "done", "broken": "failed", "fine": "done", "after-broken": "blocked", "after-flaky": "done"}
    assert calls == {"flaky": 3, "broken": 3, "fine": 1, "after-flaky": 1}
    assert runs["broken"].attempts == 3 and "backend error" in runs["broken"].error
    assert "broken" in runs["after-broken"].error


def test_backoff_doubles_between_tries(tmp_path):
    import time
    times = []

    def runner(cell, root, progress):
        times.append(time.monotonic())
        raise RuntimeError("down")

    Executor([Cell("x", "mc", "x", {})], InProcessPool(tmp_path, runner), tries=3, backoff_s=0.2).run()
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(times) == 3 and 0.2 <= gaps[0] < 0.35 and 0.4 <= gaps[1] < 0.6


# -- a real plan on the tiny random model: rerun does no finished work -------------------------------------------------
TINY = """\
name: tiny
root: {root}
retries: {{tries: 2, backoff_s: 0}}
models:
  - {{name: tiny, spec: "{model}"}}
longform:
  max_tokens: 4
  sets:
    - task: adversarial_general
      limit: 2
      sources:
        - {{model: tiny}}
        - {{import: doc.csv, source: physician}}
graders:
  - {{models: [tiny], kinds: [physician], retries: 0}}
"""


@pytest.fixture
def fake_models(monkeypatch, scripted):
    """Every model of a plan is a scripted backend: answers are one sentence, grades the best bin of every axis."""
    best = {a.key: a.best for a in load_rubric().axes("physician")}
    backend = scripted(lambda r, i: json.dumps(best)[1:] if r.prefix == "{" else "Ask your doctor.")
    monkeypatch.setattr(resolve, "load_model", lambda *a, **kw: backend)
    monkeypatch.setattr(cells_api, "load_model", lambda *a, **kw: backend)
    monkeypatch.setattr(cells_api, "_BACKENDS", {})
    return backend


def test_rerun_does_only_what_is_missing(tmp_path, fake_models):
    (tmp_path / "doc.csv").write_text("question_id,answer\nadv-general-01,Do not skip vaccines.\n")
    path = write(tmp_path, TINY.format(root=tmp_path / "root", model="any"))
    ran = []

    def counting(cell, root, progress):
        ran.append(cell["id"])
        return run_cell(cell, root, progress)

    st = survey(path)
    runs = execute(st, runner=counting)
    assert {r.status for r in runs.values()} == {"done"}
    assert sorted(ran) == ["answers/adversarial_general/tiny", "grade/adversarial_general/tiny",
                           "import/adversarial_general/physician"]
    store = Store.open_existing(tmp_path / "root" / "longform" / "adversarial_general")
    before = (len(store.answers()), len(store.ratings()))
    assert before == (3, 3)

    ran.clear()
    st = survey(path)
    assert st.done == {c.id for c in st.cells}
    runs = execute(st, runner=counting)
    assert ran == [] and {r.status for r in runs.values()} == {"cached"}
    assert (len(store.answers()), len(store.ratings())) == before

    # a larger limit extends the same run directory: only the new question is answered (and graded)
    path.write_text(path.read_text().replace("limit: 2", "limit: 3"))
    st = survey(path)
    assert "import/adversarial_general/physician" in st.done and "answers/adversarial_general/tiny" not in st.done
    execute(st, runner=counting)
    assert sorted(ran) == ["answers/adversarial_general/tiny", "grade/adversarial_general/tiny"]
    assert (len(store.answers()), len(store.ratings())) == (4, 4)


# -- the report --------------------------------------------------------------------------------------------------------
def _fake_bench_results(run_dir: Path, outcomes: list[bool], cfg: dict) -> None:
    store = Store(run_dir)
    store.init_run(run_dir.name, cfg, {})
    for i, ok in enumerate(outcomes):
        store.save_result(dict(qid=f"q{i}", position=i, dataset="medqa", subject=None, gold="A",
                               prediction="A" if ok else "B", correct=ok, n_samples=1, n_unparsed=0, tokens=10,
                               seconds=0.1, votes={}, samples=[], prompts={}, scores={}, meta={}))


def test_report_shows_cells_not_run_as_missing(tmp_path):
    plan = load_plan(write(tmp_path, PLAN))
    root = tmp_path / "root"
    cells, _ = expand(plan, root)
    cot = next(c for c in cells if c.labels["strategy"] == "cot")
    _fake_bench_results(root / cot.run_dir, [True] * 15 + [False] * 5, cot.params)
    html = write_plan_report("t", cells, root, {})
    rows = list(csv.DictReader(open(html.parent / "numbers.csv")))
    acc = {r["strategy"]: r for r in rows if r["section"] == "multiple_choice" and r["statistic"] == "accuracy"}
    assert acc["cot"]["value"] == "0.75" and acc["cot"]["n"] == "20" and float(acc["cot"]["low"]) < 0.75
    assert acc["cot"]["run_dir"] == f"../{cot.run_dir}"
    assert acc["er"]["status"] == "missing" and acc["er"]["value"] == ""
    page = html.read_text()
    assert "mc/medqa/er/m" in page and 'class="missing">missing' in page
    assert f'href="../{cot.run_dir}">75.0 [' in page
    assert "0.0 [" not in page                       # the missing cell is not shown as zero


def test_report_pairs_strategies_with_cot(tmp_path):
    plan = load_plan(write(tmp_path, PLAN))
    root = tmp_path / "root"
    cells, _ = expand(plan, root)
    cot, er = cells
    _fake_bench_results(root / cot.run_dir, [True] * 10 + [False] * 10, cot.params)
    _fake_bench_results(root / er.run_dir, [True] * 18 + [False] * 2, er.params)
    html = write_plan_report("t", cells, root, {})
    rows = {(r["strategy"], r["statistic"]): r for r in csv.DictReader(open(html.parent / "numbers.csv"))}
    assert float(rows[("er", "difference_vs_cot")]["value"]) == pytest.approx(0.4)
    assert float(rows[("er", "mcnemar_p_vs_cot")]["value"]) == pytest.approx(2 * 0.5 ** 8)   # 8 discordant, all one way
    best = [r for k, r in rows.items() if r["section"] == "best_per_dataset"]
    assert [(b["dataset"], b["strategy"]) for b in best] == [("medqa", "er")]
    assert "McNemar p=0.00781" in html.read_text()


def test_plan_report_from_a_run(tmp_path, fake_models):
    (tmp_path / "doc.csv").write_text("question_id,answer\nadv-general-01,Do not skip vaccines.\n")
    path = write(tmp_path, TINY.format(root=tmp_path / "root", model="any"))
    st = survey(path)
    execute(st)
    page = report(st, n_boot=50).read_text()
    assert "longform-adversarial_general/report.html" in page and "physician_axes.png" in page
    assert "none: every cell of the plan has finished" in page
    rows = list(csv.DictReader(open(tmp_path / "root" / "report" / "numbers.csv")))
    shares = [r for r in rows if r["statistic"] == "best_bin_share" and r["section"] == "longform:independent"]
    assert shares and {r["value"] for r in shares} == {"1.0"}          # the fake grader chose the best bin always
    subsets = [r for r in rows if r["section"] == "category_subsets"]
    assert {r["category"] for r in subsets} == {"misinformation"}     # adv-general-01/02's category


# -- dry run -----------------------------------------------------------------------------------------------------------
@pytest.mark.skipif(not (data_root() / "medqa").is_dir(), reason="needs ../shared/data/medqa")
def test_dry_run_counts_generations_from_the_strategies(tmp_path):
    st = survey(write(tmp_path, PLAN.replace("  strategies:", "  limit: 4\n  strategies:")))
    est = {e.cell.id: e for e in dry_run(st)}
    assert est["mc/medqa/cot/m"].items == 4 and est["mc/medqa/cot/m"].generations == 4
    assert est["mc/medqa/er/m"].generations == 4 * (3 + 2)
    assert est["mc/medqa/er/m"].completion_tokens == 4 * 5 * 256
    # ER's stage-1 prompt is CoT's; its stage-2 prompts carry the three stage-1 reasonings at full budget (~256 tokens)
    extra = est["mc/medqa/er/m"].prompt_tokens - est["mc/medqa/cot/m"].prompt_tokens
    assert extra > 4 * 3 * 240
    assert {e.state for e in est.values()} == {"to do"}


# -- live status -------------------------------------------------------------------------------------------------------
def test_status_board_shows_running_and_failed_cells(tmp_path):
    import io

    from rich.console import Console

    from clinqa.plan.execute import CellRun
    from clinqa.plan.state import CellProgress
    from clinqa.plan.status import StatusBoard
    runs = {c: CellRun(Cell(c, "mc", c, {})) for c in ("a", "b", "c")}
    runs["a"].status, runs["a"].progress = "running", CellProgress(3, 10, 120, False)
    runs["b"].status, runs["b"].attempts, runs["b"].error = "failed", 3, "TimeoutError: server timed out"
    runs["c"].status, runs["c"].progress = "done", CellProgress(10, 10, 400, True)
    out = io.StringIO()
    tty = Console(file=out, force_terminal=True, width=150)
    board = StatusBoard(tmp_path, tty, poll_s=1e9)
    board.update(runs)
    tty.print(board.render())
    text = out.getvalue()
    assert "3/10" in text and "TimeoutError" in text and "c " not in text.split("clinqa run")[1].split("cells:")[0]
    assert "cells: 1 done (0 before this run), 1 running, 1 failed" in text and "questions 13 | tokens 520" in text

    plain = io.StringIO()
    board = StatusBoard(tmp_path, Console(file=plain, width=150), every_s=0, poll_s=1e9)
    board.update(runs)
    lines = plain.getvalue().splitlines()
    assert any(line.startswith("failed") and "b try 3" in line and "TimeoutError" in line for line in lines)
    assert lines[-1].startswith("cells: 1 done")


def test_judge_selected_study_needs_judge_ratings_of_its_sets(tmp_path):
    path = write(tmp_path, PLAN + "longform:\n  sources: [{model: m}]\n  sets: [{task: liveqa}, {task: medicationqa}]\n"
                 "graders:\n  - {models: [m], sets: [liveqa]}\nstudy:\n  name: s\n  sources: [m]\n"
                 "  select_budget: 5\n")
    with pytest.raises(DataError, match=r"plan.yaml:18: field 'study.select_budget'.*set 'medicationqa'"):
        load_plan(path)
