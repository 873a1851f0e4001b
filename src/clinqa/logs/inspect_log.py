"""inspect_ai eval logs, both ways, written and read with inspect_ai's own log classes (`inspect view` opens them).

Export: one run of any task kind -> one `.eval` log. Each finished sample is an `EvalSample` (input = the question
or the conversation, choices = the option texts, target = the gold letter, reference or rubric criteria where stored,
messages = every prompt and sampled text, output = the completion or the text behind the prediction, one score per
scorer of the run: a true/false score as C/I like inspect's `choice()`, a number as it is; runs made before the eval
core get "choice" from their correct flag); results carry, per scorer, accuracy (C/I) or mean and stderr like
inspect's own metrics, and the kind's own metrics of that scorer (`eval.summary.kind_metrics`: a rubric's clipped
scores with their bootstrap interval as `<name>_ci_low` / `_ci_high`, the parse rate); the run config is the task
args.
Import: each sample's output (epoch 1) of any inspect log becomes a long-form answer with provenance.
"""

from __future__ import annotations

import hashlib
import math
import re
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

from clinqa.data.errors import DataError
from clinqa.eval.summary import (Metric, kind_metrics, row_input, row_output, row_scores, row_target, run_kind,
                                 scorer_means)
from clinqa.logs.common import finished_run
from clinqa.report import solver_name


def _iso(t: float | None) -> str:
    return datetime.fromtimestamp(t or 0, timezone.utc).isoformat(timespec="seconds")


def _messages(row: dict, output: str):
    """Every prompt and its sampled texts; a completion with no samples (a conversation's reply) after its prompt."""
    from inspect_ai.model import ChatMessageAssistant, ChatMessageUser
    msgs = []
    for stage, prompt in (row.get("prompts") or {}).items():
        msgs.append(ChatMessageUser(content=prompt, metadata={"stage": stage}))
        for i, s in enumerate(x for x in row.get("samples") or [] if x.get("stage") == stage):
            msgs.append(ChatMessageAssistant(content=s["text"] or "(empty)", model=None,
                                             metadata={"stage": stage, "sample": i, "answer": s.get("answer")}))
    if not row.get("samples") and output:
        msgs.append(ChatMessageAssistant(content=output, model=None))
    return msgs


def _value(v):
    return ("C" if v else "I") if isinstance(v, bool) else (math.nan if v is None else v)


def _input(row: dict):
    from inspect_ai.model import ChatMessageAssistant, ChatMessageSystem, ChatMessageUser
    given = row_input(row)
    if isinstance(given, str):
        return given
    kinds = {"system": ChatMessageSystem, "user": ChatMessageUser, "assistant": ChatMessageAssistant}
    return [kinds.get(m["role"], ChatMessageUser)(content=m["content"]) for m in given]


def _sample(row: dict, model: str):
    from inspect_ai.log import EvalSample
    from inspect_ai.model import ModelOutput, ModelUsage
    from inspect_ai.scorer import Score
    meta = row.get("meta") or {}
    options = meta.get("options") or {}
    text = row_output(row)
    target = row_target(row)
    scores = {name: Score(value=_value(s["value"]), answer=s.get("answer") or "", explanation=s.get("explanation") or
                          text, metadata={"votes": row.get("votes") or {}, "loglik": row.get("scores") or {},
                                          "n_unparsed": row.get("n_unparsed"), **(s.get("metadata") or {})})
              for name, s in row_scores(row).items()}
    return EvalSample(
        id=row["qid"], epoch=1, input=_input(row), choices=list(options.values()) or None,
        target=[str(t) for t in target] if isinstance(target, list) else str(target or ""),
        messages=_messages(row, text), output=ModelOutput.from_content(model, text),
        scores=scores, total_time=row.get("seconds"), working_time=row.get("seconds"),
        model_usage={model: ModelUsage(output_tokens=row.get("tokens") or 0, total_tokens=row.get("tokens") or 0)},
        metadata={"dataset": row["dataset"], "subject": row.get("subject"), "position": row.get("position"),
                  "options": options, "exemplars": meta.get("exemplars"), "samples": row.get("samples") or []})


def _metrics(mean: Metric, own: list[Metric]) -> dict:
    """inspect's metrics of one scorer: accuracy or mean and stderr, then the kind's metrics of that scorer."""
    from inspect_ai.log import EvalMetric
    out = {mean.aggregate: mean.value, "stderr": mean.stderr or 0.0}
    for m in own:
        out[m.name] = m.value
        if m.interval is not None:
            out[f"{m.name}_ci_low"], out[f"{m.name}_ci_high"] = m.interval.low, m.interval.high
    return {name: EvalMetric(name=name, value=v) for name, v in out.items()}


def to_eval_log(run_dir: str | Path):
    """The run as an inspect_ai `EvalLog` (not written)."""
    from inspect_ai.log import (EvalConfig, EvalDataset, EvalLog, EvalPlan, EvalPlanStep, EvalResults,
                                EvalScore, EvalSpec, EvalStats)
    from inspect_ai.model import GenerateConfig, ModelUsage
    store, info, rows = finished_run(run_dir)
    cfg, model = info.get("config") or {}, str(info.get("config", {}).get("model", "unknown"))
    run_hash = hashlib.sha256(f"{store.dir.resolve()}:{info.get('created')}".encode()).hexdigest()[:22]
    gen = GenerateConfig(temperature=cfg.get("temperature"), top_p=cfg.get("top_p"), max_tokens=cfg.get("max_tokens"),
                         seed=cfg.get("seed"))
    n = len(rows)
    tokens = sum(r.get("tokens") or 0 for r in rows)
    spec = EvalSpec(
        eval_id=run_hash, run_id=str(info.get("run_id")), created=_iso(info.get("created")),
        task=f"clinqa/{cfg.get('dataset')}", task_id=run_hash, task_version=0,
        task_display_name=f"{cfg.get('dataset')} ({solver_name(cfg)})", task_args=cfg,
        solver=f"clinqa/{solver_name(cfg)}",
        dataset=EvalDataset(name=str(cfg.get("dataset")), location=cfg.get("split"), samples=n,
                            sample_ids=[r["qid"] for r in rows], shuffled=False),
        model=model, model_generate_config=gen, model_args=info.get("model") or {},
        config=EvalConfig(limit=cfg.get("limit"), epochs=1, log_samples=True),
        packages={"clinqa": version("clinqa"), "inspect_ai": version("inspect_ai")},
        metadata={"clinqa_run_dir": str(store.dir.resolve()), "exported_from": "clinqa", "kind": run_kind(rows)})
    kind = [m for m in kind_metrics(rows) if m.scorer is not None and m.name != m.scorer]
    results = EvalResults(total_samples=n, completed_samples=n, scores=[
        EvalScore(name=mean.name, scorer=mean.name, scored_samples=mean.n, unscored_samples=n - mean.n,
                  metrics=_metrics(mean, [m for m in kind if m.scorer == mean.name]))
        for mean in scorer_means(rows)])
    stats = EvalStats(started_at=_iso(info.get("created")), completed_at=_iso(max(r.get("finished") or 0 for r in rows)),
                      model_usage={model: ModelUsage(output_tokens=tokens, total_tokens=tokens)})
    plan = EvalPlan(name="plan", steps=[EvalPlanStep(solver=f"clinqa/{solver_name(cfg)}", params=cfg)], config=gen)
    return EvalLog(version=2, status="success", eval=spec, plan=plan, results=results, stats=stats,
                   samples=[_sample(r, model) for r in rows])


def export_inspect(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the run as `<out>/<created>_clinqa-<dataset>_<id>.eval` (inspect's naming; default out: <run>/inspect)
    or to `out` itself when it ends in .eval/.json. Exporting again rewrites the same file."""
    from inspect_ai.log import write_eval_log
    log = to_eval_log(run_dir)
    out = Path(out) if out else Path(log.eval.metadata["clinqa_run_dir"]) / "inspect"
    if out.suffix not in (".eval", ".json"):
        stamp = log.eval.created[:19].replace(":", "-")
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", log.eval.dataset.name)[-60:]     # a task file's path: one name
        out = out / f"{stamp}_clinqa-{name}_{log.eval.eval_id[:8]}.eval"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_eval_log(log, str(out))
    return out


def answers_from_inspect(path: str | Path) -> list[dict]:
    """Long-form answers (one per sample id, epoch 1) from an inspect eval log (.eval or .json)."""
    from inspect_ai.log import read_eval_log
    path = Path(path)
    try:
        log = read_eval_log(str(path))
    except Exception as e:   # inspect raises many kinds for a file that is not a log
        raise DataError(path, f"not a readable inspect eval log ({type(e).__name__}: {str(e).splitlines()[0][:200]})") from None
    out, seen = [], set()
    for s in log.samples or []:
        if s.id in seen:
            continue
        text = (s.output.completion if s.output else "") or ""
        if not text.strip():
            raise DataError(path, "sample has no output text", record=str(s.id), field="output")
        seen.add(s.id)
        question = s.input if isinstance(s.input, str) else next((m.text for m in s.input if m.role == "user"), "")
        usage = next(iter((s.model_usage or {}).values()), None)
        out.append(dict(qid=str(s.id), dataset=str((s.metadata or {}).get("dataset") or log.eval.dataset.name or log.eval.task),
                        question=question, text=text.strip(), model=log.eval.model, prompt=None,
                        params={"imported_from": str(path.resolve()), "format": "inspect", "task": log.eval.task,
                                "eval_id": log.eval.eval_id, "epoch": s.epoch,
                                "generate_config": log.eval.model_generate_config.model_dump(exclude_none=True)},
                        tokens=usage.output_tokens if usage else None, seconds=s.total_time,
                        extra={"target": s.target, "scores": {k: v.value for k, v in (s.scores or {}).items()}}))
    if not out:
        raise DataError(path, "this inspect log holds no samples (written with --no-log-samples?)")
    return out
