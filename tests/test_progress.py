"""Long runs announce themselves: the plan (questions x the strategy's model calls, a time from earlier runs) before
`clinqa bench` starts, plain progress lines at a steady interval when output is not a terminal, and no progress bar
before an error raised at start-up."""

import io

from rich.console import Console
from typer.testing import CliRunner

from clinqa.cli import app
from clinqa.progress import RunProgress, bench_plan, duration
from clinqa.eval import EvalConfig

runner = CliRunner()


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_piped_progress_logs_a_line_per_interval_not_per_question():
    out, clock = io.StringIO(), Clock()
    progress = RunProgress(Console(file=out, width=1000), "medqa/er", interval=30, clock=clock,
                           describe=lambda i: i["qid"])
    progress(0, 100, {})
    for done in range(1, 101):          # one question every 2 s: 200 s in all
        clock.now = 2.0 * done
        progress(done, 100, {"qid": f"q{done}"})
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("medqa/er [1/100] elapsed 2s, eta 3 min")       # the first result gives an estimate
    assert lines[-1].startswith("medqa/er [100/100]")
    assert 7 <= len(lines) <= 9, lines                                          # 200 s / 30 s, plus first and last
    assert "q100" in lines[-1]


def test_progress_eta_counts_only_this_invocations_questions():
    clock = Clock()
    progress = RunProgress(Console(file=io.StringIO()), "x", clock=clock)
    progress(50, 100, {})                       # resumed: 50 already done
    clock.now = 10.0
    progress(55, 100, {"qid": "q"})
    assert progress.eta(55, 100) == 90.0        # 5 questions in 10 s, 45 left


def test_duration_words():
    assert duration(45) == "45s" and duration(600) == "10 min" and duration(4 * 3600) == "4.0 h"


def test_plan_counts_the_strategys_budget(data_dir, tmp_path):
    plan = bench_plan(EvalConfig(dataset="medqa", strategy="er", n_samples=11, n_refine=33, limit=50,
                                  data_dir=str(data_dir)), tmp_path)
    assert (plan.questions, plan.calls_per_question) == (50, 44)
    assert "plan: 50 questions x 44 generations = 2200 model calls" in plan.line()
    assert bench_plan(EvalConfig(dataset="medqa", strategy="loglik", data_dir=str(data_dir)), tmp_path).line() \
        .startswith("plan: 1273 questions x 4 scored options")
    assert bench_plan(EvalConfig(dataset="medqa", strategy="cot", limit=5, data_dir=str(data_dir)),
                      tmp_path).calls_per_question == 1
    assert bench_plan(EvalConfig(dataset="medqa", strategy="sc", n_samples=7, limit=5, data_dir=str(data_dir)),
                      tmp_path).calls_per_question == 7


def test_bench_prints_the_plan_then_an_estimate_from_the_earlier_run(tmp_path, tiny_model_dir, data_dir):
    common = ["bench", "--task", "medqa", "--strategy", "sc", "--n-samples", "2", "--max-tokens", "4",
              "--model", str(tiny_model_dir), "--data-dir", str(data_dir), "--runs-root", str(tmp_path)]
    r = runner.invoke(app, [*common, "--limit", "2"])
    assert r.exit_code == 0, r.output
    assert "plan: 2 questions x 2 generations = 4 model calls; time: no earlier run" in r.output
    assert "medqa/sc [2/2]" in r.output                   # not a terminal: plain progress lines
    r = runner.invoke(app, [*common, "--limit", "3"])
    assert r.exit_code == 0, r.output
    assert "plan: 1 question (2 of 3 already done) x 2 generations = 2 model calls; roughly" in r.output
    assert "from 2 questions of earlier runs" in r.output


def test_no_progress_bar_before_a_start_up_error(tmp_path):
    r = runner.invoke(app, ["answer", "--task", str(tmp_path / "nothere.csv")])
    assert r.exit_code == 2
    assert "question file not found" in r.output and "0/?" not in r.output and "━" not in r.output
