"""Numbers users can trust: question order that never follows the gold label, runs that extend with --limit,
one-line errors for bad values and bad files before any model loads, and ER's stage-2 reasonings without answers."""

import json

import pytest
from typer.testing import CliRunner

from clinqa.cli import app
from clinqa.data.errors import DataError
from clinqa.tasks import get_task
from clinqa.eval import EvalConfig, plan_samples, run_eval
from clinqa.strategies import StrategyConfig, make_strategy

runner = CliRunner()
MISSING_MODEL = "/nonexistent/model-that-must-never-load"


def test_pubmedqa_limit_is_not_sorted_by_label(data_dir):
    """The test ground truth lists 276 yes, then no, then maybe: a limit must still see all three labels."""
    plan = plan_samples(EvalConfig(dataset="pubmedqa", limit=30, data_dir=str(data_dir)))
    assert {q.target for q in plan} == {"A", "B", "C"}
    by_id = plan_samples(EvalConfig(dataset="pubmedqa", limit=30, order="id", data_dir=str(data_dir)))
    assert len({q.target for q in by_id}) >= 2
    assert [int(q.id) for q in by_id] == sorted(int(q.id) for q in by_id)


def test_a_larger_limit_is_a_prefix_extension(data_dir):
    small = plan_samples(EvalConfig(dataset="medqa", limit=20, data_dir=str(data_dir)))
    large = plan_samples(EvalConfig(dataset="medqa", limit=50, data_dir=str(data_dir)))
    assert [q.id for q in large[:20]] == [q.id for q in small]
    other_seed = plan_samples(EvalConfig(dataset="medqa", limit=20, seed=7, data_dir=str(data_dir)))
    assert [q.id for q in other_seed] != [q.id for q in small]


def test_extending_a_finished_run_reuses_its_questions(tmp_path, data_dir, scripted):
    base = dict(dataset="medqa", strategy="fewshot", run_dir=str(tmp_path / "r"), data_dir=str(data_dir))
    first = scripted(lambda r, i: " (B)")
    run_eval(config=EvalConfig(**base, limit=3), model=first)
    second = scripted(lambda r, i: " (B)")
    store = run_eval(config=EvalConfig(**base, limit=5), model=second)
    assert len(first.requests) == 3 and len(second.requests) == 2, "the 3 finished questions are not redone"
    assert len(store.results()) == 5


@pytest.mark.parametrize("args,message", [
    (["--limit", "-1"], "--limit -1: must be at least 1"),
    (["--limit", "0"], "--limit 0: must be at least 1"),
    (["--n-samples", "0", "--strategy", "sc"], "--n-samples 0: must be at least 1"),
    (["--n-refine", "0", "--strategy", "er"], "--n-refine 0: must be at least 1"),
    (["--top-p", "0"], "--top-p 0.0: must be in (0, 1]"),
    (["--order", "file"], "--order 'file': must be one of random, id"),
    (["--protocol", "nope"], "unknown protocol 'nope'"),
    (["--protocol", "lm-eval", "--strategy", "cot"], "protocol 'lm-eval' defines no prompt for strategy 'cot'"),
    (["--protocol", "simple-evals", "--strategy", "cot", "--k-shot", "3"], "simple-evals protocol is zero-shot"),
])
def test_bad_values_are_one_line_errors_before_the_model_loads(args, message, data_dir):
    r = runner.invoke(app, ["bench", "--model", MISSING_MODEL, "--data-dir", str(data_dir), *args])
    assert r.exit_code == 2 and message in r.output
    assert "Traceback" not in r.output and MISSING_MODEL not in r.output
    assert len([line for line in r.output.splitlines() if line.strip()]) <= 2


def test_loglik_on_a_backend_without_it_is_refused_before_loading(monkeypatch):
    """Every built-in backend scores; a backend that declares it cannot is refused in one line, before loading."""
    from clinqa.models import resolve
    from clinqa.models.base import Backend

    class NoScores(Backend):
        def __init__(self):
            raise AssertionError("the model must not load")

        def _generate(self, requests):
            return []
    monkeypatch.setattr(resolve, "backend_class", lambda name: NoScores)
    r = runner.invoke(app, ["bench", "--strategy", "loglik", "--model", "whatever"])
    assert r.exit_code == 2 and "cannot score log-likelihoods" in r.output and "Traceback" not in r.output


def _medqa_root(tmp_path, content: bytes):
    (tmp_path / "medqa").mkdir(parents=True, exist_ok=True)
    (tmp_path / "medqa" / "phrases_no_exclude_test.jsonl").write_bytes(content)
    return tmp_path


GOOD = {"question": "Which drug?", "options": {"A": "a", "B": "b", "C": "c", "D": "d"}, "answer_idx": "B"}


@pytest.mark.parametrize("content,message", [
    (b"", "has no records (empty or blank file)"),
    (b"\n  \n\n", "has no records (empty or blank file)"),
    (json.dumps(GOOD).encode() + b"\n" + json.dumps({**GOOD, "question": "caf\xe9"}, ensure_ascii=False).encode("latin-1") + b"\n",
     "phrases_no_exclude_test.jsonl:2: not UTF-8"),
    ((json.dumps(GOOD) + "\n" + json.dumps({k: v for k, v in GOOD.items() if k != "answer_idx"}) + "\n").encode(),
     "phrases_no_exclude_test.jsonl:2 (record medqa-test-2): field 'answer_idx': missing field"),
])
def test_bad_data_files_name_the_file_line_and_field(tmp_path, content, message):
    root = _medqa_root(tmp_path / "data", content)
    with pytest.raises(DataError, match=None) as e:
        get_task("medqa").load(None, root)
    assert message in str(e.value)
    r = runner.invoke(app, ["bench", "--model", MISSING_MODEL, "--data-dir", str(root), "--run-dir", str(tmp_path / "r")])
    assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output and MISSING_MODEL not in r.output


def test_datasets_list_flags_a_count_that_differs_from_the_expected(tmp_path):
    root = _medqa_root(tmp_path, (json.dumps(GOOD) + "\n").encode() * 2)
    r = runner.invoke(app, ["datasets", "list", "--data-dir", str(root)], terminal_width=250)
    assert r.exit_code == 0
    assert "2 — expected 1273" in r.output


class _Ctx:
    """A RunContext that answers from a scripted backend and records each stage's request."""

    def __init__(self, respond):
        self.respond, self.requests = respond, {}

    def seed(self, stage):
        return 1

    def generate(self, stage, request):
        from clinqa.models.base import GenResult
        self.requests[stage] = request
        texts = [self.respond(stage, i) for i in range(request.n)]
        return GenResult(texts, [1] * len(texts), 1, rendered_prompt=request.prompt + request.prefix)


@pytest.mark.parametrize("with_answers", [False, True])
def test_er_stage_two_strips_answer_statements_unless_asked(with_answers, data_dir):
    from clinqa.tasks import load
    q = load("medqa", None, data_dir)[0]
    stage1 = ["Heparin acts at once. Correct Answer: B because it is immediate.",
              "The anticoagulant matters.\nThe answer is (C).", "Weighing it up. answer would be:\nD)"]
    ctx = _Ctx(lambda stage, i: stage1[i] if stage == "er1" else "Answer: (B)")
    strategy = make_strategy("er", StrategyConfig(k_shot=0, n_samples=3, n_refine=2, er_with_answers=with_answers))
    out = strategy.run(q, [], ctx)
    students = ctx.requests["er2"].prompt.split("Students' reasonings:")[1]
    assert "Heparin acts at once." in students and "The anticoagulant matters." in students
    assert "Weighing it up." in students
    for statement in ("Correct Answer: B", "The answer is (C)", "answer would be:\nD)"):
        assert (statement in students) == with_answers
    assert out.prediction == "B"
