"""Trackers, offline: a bench run's config and final metrics reported to MLflow (read back through MLflow's client)
and TensorBoard (read back through TensorBoard's event reader); `tune --report-to mlflow` writes an MLflow run."""

import pytest

from clinqa.metrics import run_metrics
from clinqa.eval import EvalConfig, run_eval
from clinqa.tracking import report_run


@pytest.fixture
def bench_run(tmp_path, data_dir, scripted):
    cfg = EvalConfig(dataset="medqa", strategy="fewshot", limit=6, run_dir=str(tmp_path / "runs" / "r1"),
                      data_dir=str(data_dir))
    return run_eval(config=cfg, model=scripted(lambda r, i: "(B)" if len(r.prompt) % 2 else "(C)"))


def test_bench_run_to_mlflow_local_store(bench_run, tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    where = report_run(bench_run, "mlflow")["mlflow"]
    assert not (tmp_path / "mlruns").exists(), "artifacts go beside the local store, not into ./mlruns"
    assert list((tmp_path / "runs" / "mlartifacts").rglob("clinqa_run.json"))
    uri = f"sqlite:///{tmp_path / 'runs' / 'mlflow.db'}"           # default: MLflow's local store beside the run
    assert where.startswith(uri)
    client = MlflowClient(uri)
    [run] = client.search_runs([client.get_experiment_by_name("clinqa").experiment_id])
    overall = run_metrics(bench_run.results())[0]
    assert run.data.params["dataset"] == "medqa" and run.data.params["strategy"] == "fewshot"
    assert run.data.params["seed"] == "1234" and run.data.params["model.name"] == "scripted"
    assert run.data.metrics["accuracy"] == pytest.approx(overall.accuracy.estimate)
    assert run.data.metrics["accuracy_low"] == pytest.approx(overall.accuracy.low)
    assert run.data.metrics["n"] == 6 and run.data.tags["clinqa.run_dir"] == str(bench_run.dir.resolve())
    report_run(bench_run, "mlflow")                               # reporting again updates the same MLflow run
    assert [r.info.run_id for r in client.search_runs([run.info.experiment_id])] == [run.info.run_id]


def test_bench_run_to_tensorboard(bench_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    folder = report_run(bench_run, "tensorboard")["tensorboard"]
    acc = EventAccumulator(folder)
    acc.Reload()
    overall = run_metrics(bench_run.results())[0]
    [event] = acc.Scalars("accuracy")
    assert event.value == pytest.approx(overall.accuracy.estimate) and acc.Scalars("n")[0].value == 6
    assert "fewshot" in acc.Tensors("config/text_summary")[0].tensor_proto.string_val[0].decode()


def test_unknown_tracker_is_refused(bench_run):
    with pytest.raises(ValueError, match="unknown tracker comet"):
        report_run(bench_run, "mlflow,comet")
    assert report_run(bench_run, "none") == {}


def test_tune_reports_to_mlflow_file_store(tmp_path, tiny_model_dir, data_dir, monkeypatch):
    from mlflow.tracking import MlflowClient

    from clinqa.tune.train import TuneConfig, train
    uri = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")     # MLflow 3 keeps its file store only on request
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "tune-test")
    train(TuneConfig(model=str(tiny_model_dir), output_dir=str(tmp_path / "t"), total=48, data_dir=str(data_dir),
                     packing=False, report_to="mlflow", sft=dict(max_steps=2, per_device_train_batch_size=2,
                                                                 max_length=96, save_steps=10, logging_steps=1)))
    client = MlflowClient(uri)
    [run] = client.search_runs([client.get_experiment_by_name("tune-test").experiment_id])
    assert run.info.run_name == "tune-t" and run.info.status == "FINISHED"
    assert float(run.data.params["learning_rate"]) == pytest.approx(2e-4) and run.data.params["max_steps"] == "2"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "loss")] == [1, 2]
