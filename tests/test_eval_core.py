"""The eval core: one run loop for every task kind, chat messages on the request, provenance in every run log, and
a task a user writes in one Python file with its own solver and scorer."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clinqa.data.loaders.healthbench import SAMPLE, load_examples
from clinqa.eval import EvalConfig, GivenCompletions, Sample, Score, run_eval
from clinqa.eval.healthbench import HealthBenchScorer
from clinqa.models.base import GenRequest

ROOT = Path(__file__).resolve().parents[1]
CHAT_TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
                 "{% if add_generation_prompt %}<|assistant|>{% endif %}")


def test_a_conversation_reaches_the_model_as_messages(tiny_model_dir, tmp_path):
    """HealthBench's multi-turn prompt is rendered by the tokenizer's own chat template, not flattened to text."""
    from transformers import AutoTokenizer

    from clinqa.models import load_model
    folder = tmp_path / "chat-model"
    folder.mkdir()
    for f in tiny_model_dir.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    tok = AutoTokenizer.from_pretrained(folder)
    tok.chat_template = CHAT_TEMPLATE
    tok.save_pretrained(folder)
    backend = load_model(str(folder), dtype="float32")
    convo = next(e for e in load_examples(SAMPLE) if len(e.prompt) > 1).prompt
    store = run_eval("healthbench", backend, EvalConfig(run_dir=str(tmp_path / "run"), limit=1, order="id",
                                                         max_tokens=4),
                     scorers=[])
    row = store.results()[0]
    ex = next(e for e in load_examples(SAMPLE) if e.prompt_id == row["qid"])
    expected = tok.apply_chat_template(ex.prompt, tokenize=False, add_generation_prompt=True)
    assert row["prompts"]["reply"] == expected
    assert backend.render(GenRequest.chat(convo)) == tok.apply_chat_template(convo, tokenize=False,
                                                                             add_generation_prompt=True)
    assert "user: " not in expected                  # not the old "user: ...\n\nassistant: ..." transcript


def test_without_a_template_a_conversation_is_a_plain_transcript(scripted):
    be = scripted(lambda r, i: "ok")
    req = GenRequest.chat([{"role": "system", "content": "S"}, {"role": "user", "content": "U"}], prefix="P")
    assert be.render(req) == "system: S\n\nuser: U\n\nassistant:P"
    assert be.render(GenRequest("just a prompt", prefix="P")) == "just a prompt" + "P"


def test_every_run_log_carries_provenance(tmp_path, scripted):
    store = run_eval("healthbench", scripted(lambda r, i: '{"criteria_met": true}'),
                     EvalConfig(run_dir=str(tmp_path / "r"), model="scripted-model", grader="scripted-model"),
                     solver=GivenCompletions(), scorers=[HealthBenchScorer(retries=0)])
    prov = store.run_info()["provenance"]["created"]
    for key in ("clinqa", "git", "python", "packages", "model", "config", "data"):
        assert key in prov, key
    assert set(prov["packages"]) >= {"torch", "transformers", "vllm", "llama-cpp-python", "openai"}
    assert prov["packages"]["torch"] and prov["model"]["spec"] == "scripted-model"
    assert prov["config"]["scorers"]["healthbench"]["grader_template"]      # the grader prompt's hash is identity
    assert prov["git"] is None or len(prov["git"].split("+")[0]) == 40
    data = {Path(d["path"]).name: d for d in prov["data"]}
    assert data == {} or all(len(d["sha256"]) == 64 for d in data.values())
    run_eval("healthbench", scripted(lambda r, i: '{"criteria_met": true}'),
             EvalConfig(run_dir=str(tmp_path / "r"), model="scripted-model", grader="scripted-model"),
             solver=GivenCompletions(), scorers=[HealthBenchScorer(retries=0)])
    assert len(store.run_info()["provenance"]["resumed"]) == 1


def test_a_changed_grader_prompt_or_grader_is_a_different_run(tmp_path, scripted):
    be = scripted(lambda r, i: '{"criteria_met": true}')
    cfg = dict(run_dir=str(tmp_path / "r"), model="m", grader="g1")
    run_eval("healthbench", be, EvalConfig(**cfg), solver=GivenCompletions(), grader=be,
             scorers=[HealthBenchScorer(retries=0)])
    with pytest.raises(ValueError, match="different configuration.*scorers"):
        run_eval("healthbench", be, EvalConfig(**cfg), solver=GivenCompletions(), grader=be,
                 scorers=[HealthBenchScorer(retries=1)])
    with pytest.raises(ValueError, match="different configuration.*grader"):
        run_eval("healthbench", be, EvalConfig(**{**cfg, "grader": "g2"}), solver=GivenCompletions(), grader=be,
                 scorers=[HealthBenchScorer(retries=0)])


KILL_SCRIPT = """
import sys, time
sys.path.insert(0, {tests!r})
from conftest import ScriptedBackend
from clinqa.eval import EvalConfig, GivenCompletions, run_eval
from clinqa.eval.healthbench import HealthBenchScorer

class Slow(ScriptedBackend):
    def _generate(self, requests):
        time.sleep(0.4)
        with open({log!r}, "a") as f:
            f.write("call\\n")
        return super()._generate(requests)

run_eval({task!r}, Slow(lambda r, i: '{{"criteria_met": true}}'), EvalConfig(run_dir={run!r}, order="id", concurrency=1),
         solver=GivenCompletions(), scorers=[HealthBenchScorer(retries=0)])
"""


def test_healthbench_resumes_after_kill_9_without_recomputing(tmp_path, scripted):
    task = f"healthbench:{ROOT / 'tests' / 'fixtures' / 'tasks' / 'healthbench20.jsonl'}"
    if not Path(task.split(':', 1)[1]).is_file():
        task = "healthbench"
    run, log = tmp_path / "run", tmp_path / "calls.log"
    script = tmp_path / "run_hb.py"
    script.write_text(KILL_SCRIPT.format(tests=str(ROOT / "tests"), log=str(log), task=task, run=str(run)))
    proc = subprocess.Popen([sys.executable, str(script)], env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    from clinqa.eval.store import Store
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if (run / "results.sqlite").exists() and len(Store(run).done_ids()) >= 2:
            break
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    first = {r["qid"]: r["finished"] for r in Store(run).results()}
    assert first, "nothing finished before the kill"
    calls = []
    be = scripted(lambda r, i: '{"criteria_met": true}')
    be._generate = (lambda orig: lambda reqs: calls.append(len(reqs)) or orig(reqs))(be._generate)
    store = run_eval(task, be, EvalConfig(run_dir=str(run), order="id", concurrency=1),
                     solver=GivenCompletions(), scorers=[HealthBenchScorer(retries=0)])
    rows = {r["qid"]: r["finished"] for r in store.results()}
    assert all(rows[q] == t for q, t in first.items())          # finished examples were not redone
    n_left = len(rows) - len(first)
    # one grading call per example left (retries=0); one fewer if the example in flight had its call saved
    assert n_left - 1 <= len(calls) <= n_left and n_left > 0


def test_a_users_task_in_one_file_runs_with_resume_concurrency_and_an_inspect_log(tmp_path):
    task_file = tmp_path / "my_task.py"
    task_file.write_text(USER_TASK)
    spec = f"{task_file}:arithmetic"
    from clinqa.cli import app
    from typer.testing import CliRunner
    runner = CliRunner()
    args = ["bench", "--task", spec, "--model", "unused", "--limit", "5", "--run-dir", str(tmp_path / "run"),
            "--concurrency", "3"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    from clinqa.eval.store import Store
    rows = Store(tmp_path / "run").results()
    assert len(rows) == 5 and all(row["score"]["exact"]["value"] in (True, False) for row in rows)
    assert all(row["score"]["exact"]["value"] == (row["meta"]["completion"] == row["gold"]) for row in rows)
    finished = {row["qid"]: row["finished"] for row in rows}
    r = runner.invoke(app, args[:-4] + ["--limit", "8", "--run-dir", str(tmp_path / "run")])
    assert r.exit_code == 0, r.output
    rows = Store(tmp_path / "run").results()
    assert len(rows) == 8 and all(row["finished"] == finished[q] for q, row in ((r["qid"], r) for r in rows)
                                  if q in finished)
    r = runner.invoke(app, ["export", "inspect", str(tmp_path / "run")])
    assert r.exit_code == 0, r.output
    from inspect_ai.log import read_eval_log
    log = read_eval_log(str(next((tmp_path / "run" / "inspect").glob("*.eval"))))
    assert len(log.samples) == 8 and [s.name for s in log.results.scores] == ["exact"]
    by_id = {s.id: s for s in log.samples}
    assert all(by_id[row["qid"]].scores["exact"].value == ("C" if row["correct"] else "I") for row in rows)
    assert log.results.scores[0].metrics["accuracy"].value == sum(row["correct"] for row in rows) / 8


USER_TASK = '''
"""A task of its own: sums to complete, answered by a solver that needs no model, scored by exact match."""
from clinqa.data.records import LongFormQuestion
from clinqa.eval import Sample, Score
from clinqa.tasks import Task


def load(split, root):
    return [Sample(f"sum-{i}", [{"role": "user", "content": f"{i} + {i}"}], str(2 * i)) for i in range(12)]


def add(sample, ctx):
    a, _, b = sample.text.partition(" + ")
    return str(int(a) + int(b) + (1 if int(a) % 3 == 0 else 0))     # wrong on multiples of 3


add.needs_model = False


def exact(sample, outcome, ctx):
    return Score(outcome.completion == sample.target, outcome.completion)


arithmetic = Task("arithmetic", "custom", load, {"test": 12}, solver=add, scorer=[exact])
'''


LEGACY = ROOT / "tests" / "fixtures" / "legacy_runs" / "mc20-er"


def test_a_run_made_before_the_eval_core_opens_reports_and_extends(tmp_path):
    """An ER run directory written by clinqa before the eval core (schema version 1, see its README) is migrated on
    open, reports the numbers it had, and a larger --limit extends it exactly as the old code did."""
    import shutil
    import sqlite3

    from typer.testing import CliRunner

    from clinqa.cli import app
    from clinqa.eval.store import Store
    from clinqa.metrics import run_metrics
    from clinqa.models.random_model import build_random_model
    expected = json.loads((LEGACY / "expected.json").read_text())
    run = tmp_path / "mc20-er"
    shutil.copytree(LEGACY, run)
    with sqlite3.connect(run / "results.sqlite") as c:
        assert c.execute("PRAGMA user_version").fetchone()[0] == 1
    store = Store.open_existing(run)
    with sqlite3.connect(run / "results.sqlite") as c:                    # migrated and stamped by alembic
        assert c.execute("SELECT version_num FROM alembic_version").fetchall() == [("store_v2",)]
    rows = store.results()
    assert [r["qid"] for r in rows] == [q["qid"] for q in expected["questions"]]
    m = run_metrics(rows)[0]
    assert (m.n, m.correct) == (5, 0) and m.accuracy.high == pytest.approx(expected["metrics"][0]["accuracy"]["high"])
    runner = CliRunner()
    r = runner.invoke(app, ["report", str(run)])
    assert r.exit_code == 0 and "mc20" in r.output, r.output
    model = str(build_random_model(Path(expected["config"]["model"]), "tiny", 0))
    r = runner.invoke(app, ["bench", "--task", expected["config"]["dataset"], "--strategy", "er", "--model", model,
                            "--n-samples", "3", "--n-refine", "3", "--max-tokens", "8", "--limit", "7",
                            "--run-dir", str(run)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    after = Store.open_existing(run).results()
    assert [(r["qid"], r["finished"]) for r in after[:5]] == [(r["qid"], r["finished"]) for r in rows]
    added = expected["extended_to_limit_7"]["added"]
    assert [(r["qid"], r["position"], r["gold"], r["n_samples"], r["tokens"]) for r in after[5:]] == \
        [(a["qid"], a["position"], a["gold"], a["n_samples"], a["tokens"]) for a in added]


def test_a_longform_task_is_answered_with_the_papers_prompt(tmp_path, scripted):
    """`clinqa bench` on a long-form task and `clinqa answer` share one solver: the paper's long-form prompt."""
    from clinqa.longform.answer import AnswerConfig, run_answers
    task = str(ROOT / "tests" / "fixtures" / "tasks" / "longform20.jsonl")
    bench = scripted(lambda r, i: "Rest and fluids.")
    store = run_eval(task, bench, EvalConfig(run_dir=str(tmp_path / "bench"), limit=2, order="id", max_tokens=16))
    answer = scripted(lambda r, i: "Rest and fluids.")
    answers = run_answers(AnswerConfig(dataset=task, limit=20, max_tokens=16, run_dir=str(tmp_path / "answers")),
                          backend=answer)
    assert all(r.prompt.rstrip().endswith("Complete Answer:") and not r.messages for r in bench.requests)
    by_question = {r.prompt: r for r in answer.requests}
    assert all(by_question[r.prompt].max_tokens == r.max_tokens for r in bench.requests)   # the same prompts
    assert [r["meta"]["completion"] for r in store.results()] == ["Rest and fluids."] * 2
    assert len(answers.answers()) == 20
