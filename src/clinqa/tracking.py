"""Report a finished (or partial) `clinqa bench` run to an experiment tracker: its configuration as parameters and its
final metrics (accuracy with 95% Clopper-Pearson bounds, n, unparsed share, tokens, seconds; overall and per group).

- mlflow: a run in experiment $MLFLOW_EXPERIMENT_NAME (default "clinqa") at $MLFLOW_TRACKING_URI (default: MLflow's
  local SQLite store `mlflow.db` beside the run directory; `file:<dir>` works with MLFLOW_ALLOW_FILE_STORE=true, MLflow 3
  having put its file store in maintenance mode); reporting the same run directory again updates the same MLflow run.
- wandb: offline unless $WANDB_MODE says otherwise (`wandb sync` uploads later); files under <run dir>/wandb.
- tensorboard: scalars and the config as text under <run dir>/tensorboard (`tensorboard --logdir ...`).
No network is needed for any of them. `report_to` may name several, comma-separated; "none" does nothing.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from pathlib import Path

from clinqa.metrics import run_metrics
from clinqa.eval.store import Store

log = logging.getLogger(__name__)
TRACKERS = ("mlflow", "wandb", "tensorboard", "none")


def run_metrics_flat(store: Store) -> dict[str, float]:
    """{"accuracy": .., "accuracy_low": .., ..., "medqa/accuracy": ..}: overall metrics unprefixed, groups prefixed."""
    out = {}
    for g in run_metrics(store.results()):
        prefix = "" if g.group == "all" else re.sub(r"[^\w.\-/ ]", "_", g.group) + "/"
        out |= {f"{prefix}accuracy": g.accuracy.estimate, f"{prefix}accuracy_low": g.accuracy.low,
                f"{prefix}accuracy_high": g.accuracy.high, f"{prefix}n": float(g.n), f"{prefix}correct": float(g.correct),
                f"{prefix}no_answer": g.no_answer, f"{prefix}unparsed_samples": g.unparsed_samples,
                f"{prefix}tokens": float(g.tokens), f"{prefix}seconds": g.seconds}
    return out


def run_params(store: Store) -> dict[str, str]:
    """The stored configuration and model description, flattened to strings (tracker parameters)."""
    info = store.run_info()
    params = {k: v for k, v in (info.get("config") or {}).items()}
    params |= {f"model.{k}": v for k, v in (info.get("model") or {}).items()}
    return {k: v if isinstance(v, str) else json.dumps(v, default=str) for k, v in params.items()}


def parse_report_to(report_to: str) -> list[str]:
    names = [n.strip() for n in (report_to or "none").split(",") if n.strip()]
    bad = [n for n in names if n not in TRACKERS]
    if bad:
        raise ValueError(f"--report-to: unknown tracker {', '.join(bad)}; one or more of {', '.join(TRACKERS)}")
    return [n for n in names if n != "none"]


def report_run(store: Store, report_to: str) -> dict[str, str]:
    """Log the run's config and final metrics to each tracker named; returns {tracker: where it was written}."""
    done = {}
    for name in parse_report_to(report_to):
        done[name] = {"mlflow": _mlflow, "wandb": _wandb, "tensorboard": _tensorboard}[name](store)
        log.info("reported %s to %s: %s", store.dir, name, done[name])
    return done


def mlflow_experiment(local: Path):
    """(client, experiment id, tracking URI): $MLFLOW_TRACKING_URI or the local store `local`/mlflow.db, experiment
    $MLFLOW_EXPERIMENT_NAME or "clinqa", created if missing (for the local store with its artifacts in
    `local`/mlartifacts rather than ./mlruns of the current directory). Changes no global MLflow state."""
    from mlflow.tracking import MlflowClient
    uri = os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{local.resolve() / 'mlflow.db'}"
    client = MlflowClient(uri)
    name = os.environ.get("MLFLOW_EXPERIMENT_NAME", "clinqa")
    exp = client.get_experiment_by_name(name)
    where = None if os.environ.get("MLFLOW_TRACKING_URI") else (local.resolve() / "mlartifacts").as_uri()
    return client, exp.experiment_id if exp else client.create_experiment(name, artifact_location=where), uri


def _mlflow(store: Store) -> str:
    from mlflow.entities import Metric, Param, RunTag
    client, exp_id, uri = mlflow_experiment(store.dir.resolve().parent)
    run_dir = str(store.dir.resolve())
    same = client.search_runs([exp_id], filter_string=f"tags.`clinqa.run_dir` = '{run_dir}'")
    tags = {"clinqa.run_dir": run_dir, "clinqa.kind": "bench"}
    run_id = same[0].info.run_id if same else client.create_run(exp_id, run_name=store.dir.name, tags=tags).info.run_id
    now = int(time.time() * 1000)
    metrics = [Metric(k, v, now, 0) for k, v in run_metrics_flat(store).items()]
    # parameters are immutable in MLflow (and a run's config never changes): logged once
    params = [] if same else [Param(k, v[:6000]) for k, v in run_params(store).items()]
    client.log_batch(run_id, metrics=metrics, params=params, tags=[RunTag(k, v) for k, v in tags.items()])
    client.log_dict(run_id, store.run_info(), "clinqa_run.json")
    client.set_terminated(run_id)
    return f"{uri} run {run_id}"


def _wandb(store: Store) -> str:
    os.environ.setdefault("WANDB_MODE", "offline")
    import wandb
    run = wandb.init(project=os.environ.get("WANDB_PROJECT", "clinqa"), name=store.dir.name, dir=str(store.dir),
                     config=store.run_info().get("config") or {}, job_type="bench", reinit="finish_previous")
    try:
        run.summary.update(run_metrics_flat(store))
        return f"{run.dir} (mode {os.environ['WANDB_MODE']})"
    finally:
        run.finish()


def _tensorboard(store: Store) -> str:
    from torch.utils.tensorboard import SummaryWriter
    folder = Path(store.dir) / "tensorboard"
    with SummaryWriter(log_dir=str(folder)) as w:
        w.add_text("config", "```\n" + json.dumps(store.run_info(), indent=1, default=str) + "\n```", 0)
        for k, v in run_metrics_flat(store).items():
            w.add_scalar(k, v, 0)
    return str(folder)
