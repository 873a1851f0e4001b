"""The runner: resumable after kill -9 or Ctrl-C with results equal to an uninterrupted run."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from clinqa.eval import EvalConfig, StrategySolver, plan_samples, run_eval
from clinqa.tasks import get_task
from clinqa.eval.store import Store


def bench_cmd(model_dir, run_dir, data_dir, limit=6, concurrency=1):
    return [sys.executable, "-m", "clinqa.cli", "bench", "--dataset", "medqa", "--strategy", "sc", "--model",
            str(model_dir), "--limit", str(limit), "--n-samples", "3", "--max-tokens", "24", "--run-dir", str(run_dir),
            "--data-dir", str(data_dir), "--concurrency", str(concurrency)]


def finished(run_dir) -> int:
    try:
        with sqlite3.connect(run_dir / "results.sqlite") as c:
            return c.execute("select count(*) from results").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def interrupt_after(cmd, run_dir, n_done, sig):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    deadline = time.time() + 240
    while finished(run_dir) < n_done and p.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    p.send_signal(sig)
    out, err = p.communicate(timeout=120)
    return p.returncode, err


def rows(run_dir):
    return [(r["qid"], r["prediction"], [s["text"] for s in r["samples"]]) for r in Store(run_dir).results()]


@pytest.mark.parametrize("sig,code,conc", [(signal.SIGKILL, -9, 1), (signal.SIGINT, 130, 1), (signal.SIGINT, 130, 2)])
def test_interrupt_and_resume_equals_uninterrupted(tmp_path, tiny_model_dir, data_dir, sig, code, conc):
    """Also with questions in flight in batches (conc 2): Ctrl-C stops without waiting, resuming gives the same run."""
    full, broken = tmp_path / "full", tmp_path / "broken"
    subprocess.run(bench_cmd(tiny_model_dir, full, data_dir), check=True, capture_output=True)
    rc, err = interrupt_after(bench_cmd(tiny_model_dir, broken, data_dir, concurrency=conc), broken, 2, sig)
    assert rc == code
    if sig == signal.SIGINT:
        assert "Re-run the same command to resume" in err
    part = finished(broken)
    assert 2 <= part < 6, "the kill must land mid-run"
    done = subprocess.run(bench_cmd(tiny_model_dir, broken, data_dir), check=True, capture_output=True, text=True)
    assert "[6/6]" in done.stderr
    assert rows(broken) == rows(full)
    assert len(rows(full)) == 6


def test_resume_recomputes_nothing(tmp_path, tiny_backend, data_dir, scripted):
    cfg = EvalConfig(dataset="medqa", strategy="fewshot", limit=3, run_dir=str(tmp_path / "r"), data_dir=str(data_dir))
    run_eval(config=cfg, model=tiny_backend)
    be = scripted(lambda r, i: "(A)")
    store = run_eval(config=cfg, model=be)
    assert be.requests == [] and len(store.results()) == 3


def test_changed_config_is_refused(tmp_path, tiny_backend, data_dir):
    cfg = EvalConfig(dataset="medqa", strategy="fewshot", limit=2, run_dir=str(tmp_path / "r"), data_dir=str(data_dir))
    run_eval(config=cfg, model=tiny_backend)
    cfg.temperature = 0.3
    with pytest.raises(ValueError, match="different configuration.*temperature"):
        run_eval(config=cfg, model=tiny_backend)


def test_exemplars_are_never_evaluated(data_dir):
    from clinqa.tasks import load
    pool = load("pubmedqa", "train", data_dir)[:3]
    cfg = EvalConfig(dataset="pubmedqa", split="train", data_dir=str(data_dir))
    solver = StrategySolver(None, None, 0, pool)
    samples = plan_samples(cfg, solver.excluded_ids(get_task("pubmedqa"), []))
    assert not {q.id for q in samples} & {e.id for e in pool}
    assert len(samples) == 497


def test_metrics_and_report(tmp_path, tiny_backend, data_dir):
    from clinqa.metrics import run_metrics
    from clinqa.results_view import write_html
    cfg = EvalConfig(dataset="mmlu", strategy="loglik", limit=12, order="random", run_dir=str(tmp_path / "r"),
                      data_dir=str(data_dir))
    store = run_eval(config=cfg, model=tiny_backend)
    res = store.results()
    m = run_metrics(res)
    assert m[0].n == 12 and m[0].correct == sum(r["correct"] for r in res)
    assert m[0].accuracy.low <= m[0].accuracy.estimate <= m[0].accuracy.high
    assert len({r["subject"] for r in res}) > 1 and any(g.group.startswith("mmlu_") for g in m)
    html = write_html([store], tmp_path / "report.html").read_text()
    assert res[0]["qid"] in html and "option log-likelihoods" in html and "data:image/png;base64" in html
    assert (tmp_path / "report.svg").read_text().startswith("<?xml")


def test_concurrency_gives_the_same_results(tmp_path, tiny_backend, data_dir):
    base = dict(dataset="medqa", strategy="sc", limit=6, n_samples=3, max_tokens=12, data_dir=str(data_dir))
    a = run_eval(config=EvalConfig(**base, run_dir=str(tmp_path / "a")), model=tiny_backend)
    b = run_eval(config=EvalConfig(**base, run_dir=str(tmp_path / "b"), concurrency=3), model=tiny_backend)
    key = lambda s: [(r["qid"], r["prediction"], [x["text"] for x in r["samples"]]) for r in s.results()]  # noqa: E731
    assert key(a) == key(b) and [r["position"] for r in b.results()] == list(range(6))
