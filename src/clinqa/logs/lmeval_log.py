"""lm-evaluation-harness result files, both ways, in the layout lm-eval 0.4's `EvaluationTracker` writes:

  <out>/<model_name_sanitized>/results_<date_id>.json           aggregated results + run config
  <out>/<model_name_sanitized>/samples_<task>_<date_id>.jsonl   one line per sample (doc_id, doc, target, arguments,
                                                               resps, filtered_resps, filter, metrics, hashes, each
                                                               metric's value; clinqa adds output and scores)
with date_id = datetime.now().isoformat() with ":" -> "-", hashes = sha256 hex, `arguments` as
{"gen_args_i": {"arg_j": ...}} and resps/filtered_resps stringified, exactly as lm-eval sanitizes them.
The metrics are the run's kind's (`eval.summary.kind_metrics`): multiple choice `acc`; a rubric's HealthBench scores
(`overall_score`, `theme:...`, `axis:...`) with their bootstrap interval as `_ci_low` / `_ci_high` beside
`_stderr` ("N/A"), and `parse_rate`; long-form and custom runs `tokens` and each scorer's mean with its stderr.
Export needs no lm-eval; import reads `samples_*.jsonl` of generation tasks as long-form answers.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

from clinqa.data.errors import DataError
from clinqa.data.loaders.common import read_jsonl
from clinqa.eval.summary import Metric, kind_metrics, numeric, row_input, row_output, row_scores, row_target, run_kind
from clinqa.logs.common import finished_run, first_prompt
from clinqa.report import solver_name


def _hash(s: str) -> str:                      # lm_eval.utils.hash_string
    return hashlib.sha256(s.encode("utf-8")).hexdigest()


def _sanitize_model(name: str) -> str:         # lm_eval.utils.sanitize_model_name
    return re.sub(r"[\"<>:/|\\?*\[\]]+", "__", name)


def _strs(x):                                  # lm_eval.utils.sanitize_list
    return [_strs(i) for i in x] if isinstance(x, (list, tuple)) else str(x)


LMEVAL_NAMES = {"choice": "acc"}        # letter accuracy is lm-eval's `acc`; other scorers keep their names


def _name(m: Metric) -> str:
    return LMEVAL_NAMES.get(m.name, m.name)


def _task_name(cfg: dict) -> str:
    """clinqa_<task>_<solver>, a task named by files by their names only (fixture_tasks.py:mc20, not its path)."""
    task = ":".join(Path(part).name for part in str(cfg.get("dataset")).split(":"))
    return re.sub(r"\W", "_", f"clinqa_{task}_{solver_name(cfg)}")


def _result_fields(metrics: list[Metric], filter_key: str) -> dict:
    """`<metric>,<filter>` and `<metric>_stderr,<filter>` as lm-eval writes them ("N/A" where there is none), and a
    bootstrap interval as `<metric>_ci_low,<filter>` / `<metric>_ci_high,<filter>`."""
    out = {}
    for m in metrics:
        out[f"{_name(m)},{filter_key}"] = m.value
        out[f"{_name(m)}_stderr,{filter_key}"] = m.stderr if m.stderr is not None else "N/A"
        if m.interval is not None:
            out[f"{_name(m)}_ci_low,{filter_key}"] = m.interval.low
            out[f"{_name(m)}_ci_high,{filter_key}"] = m.interval.high
    return out


def _sample_metrics(row: dict, kind: str) -> dict:
    """One sample's values of the run's metrics: each scorer's value (true/false as 1/0), a rubric's per-example
    metrics (overall_score, theme:..., axis:...; none when a criterion's grade did not parse), tokens."""
    out = {}
    for name, s in row_scores(row).items():
        meta = s.get("metadata") or {}
        if "criteria_met" in meta:
            out.update(meta.get("metrics") or {})
        else:
            out[LMEVAL_NAMES.get(name, name)] = numeric(s.get("value"))
    if kind in ("longform", "custom"):
        out["tokens"] = row.get("tokens") or 0
    return out


def _sample(row: dict, doc_id: int, filter_key: str, gen_kwargs: dict, kind: str) -> dict:
    meta, given, output, target = row.get("meta") or {}, row_input(row), row_output(row), row_target(row)
    question = (given if isinstance(given, str) else
                next((m["content"] for m in reversed(given) if m["role"] == "user"), ""))
    doc = {"id": row["qid"], "question": question, "messages": None if isinstance(given, str) else given,
           "options": meta.get("options"), "answer": target, "dataset": row["dataset"], "subject": row.get("subject")}
    target_text = (target if isinstance(target, str) else "" if target is None else
                   json.dumps(target, ensure_ascii=False))
    prompt = first_prompt(row) or (given if isinstance(given, str) else json.dumps(given, ensure_ascii=False))
    texts = [s["text"] for s in row.get("samples") or []] or [output]
    values = _sample_metrics(row, kind)
    filtered = (row["prediction"] or "[invalid]") if kind == "mc" else output
    return {"doc_id": doc_id, "doc": doc, "target": target_text,
            "arguments": {"gen_args_0": {"arg_0": prompt, "arg_1": gen_kwargs}},
            "resps": _strs([texts]), "filtered_resps": _strs([filtered]),
            "filter": filter_key, "metrics": list(values),
            "doc_hash": _hash(json.dumps(doc, indent=2, default=str, ensure_ascii=False)),
            "prompt_hash": _hash(prompt), "target_hash": _hash(target_text), **values,
            "output": output, "scores": row_scores(row)}


def export_lmeval(run_dir: str | Path, out: str | Path | None = None) -> tuple[Path, Path]:
    """Write results_*.json and samples_*.jsonl for a run of any task kind, with the metrics of its kind
    (`eval.summary.kind_metrics`); returns their paths (default out: <run>/lm-eval)."""
    store, info, rows = finished_run(run_dir)
    cfg, kind = info.get("config") or {}, run_kind(rows)
    model = str(cfg.get("model", "unknown"))
    task = _task_name(cfg)
    filter_key = "majority_vote" if any((r.get("n_samples") or 1) > 1 for r in rows) else "none"
    gen_kwargs = {"temperature": cfg.get("temperature"), "top_p": cfg.get("top_p"),
                  "max_gen_toks": cfg.get("max_tokens"), "seed": cfg.get("seed")}
    samples = [_sample(r, i, filter_key, gen_kwargs, kind) for i, r in enumerate(rows)]
    metrics = kind_metrics(rows)
    higher = {_name(m): None if m.name == "tokens" else True for m in metrics}
    n = len(rows)
    config = {"task": task, "dataset_path": f"clinqa:{cfg.get('dataset')}", "test_split": cfg.get("split"),
              "description": "", "doc_to_text": "clinqa prompt (see arguments)", "doc_to_target": "answer",
              "target_delimiter": " ", "fewshot_delimiter": "\n\n", "should_decontaminate": False,
              "output_type": "multiple_choice" if kind == "mc" and cfg.get("strategy") == "loglik" else
              "generate_until", "num_fewshot": cfg.get("k_shot") if kind == "mc" else 0,
              "repeats": max(r.get("n_samples") or 1 for r in rows),
              "generation_kwargs": gen_kwargs,
              "metric_list": [{"metric": name, "aggregation": "bootstrap" if m.interval else "mean",
                               "higher_is_better": higher[name]} for m in metrics for name in [_name(m)]],
              "metadata": {"version": 1.0, "clinqa": cfg, "clinqa_kind": kind,
                           "clinqa_run_dir": str(store.dir.resolve())}}
    created = datetime.fromtimestamp(info.get("created") or 0)
    finished = max(r.get("finished") or 0 for r in rows)
    results = {
        "results": {task: {"name": task, "alias": task, "sample_len": n, **_result_fields(metrics, filter_key)}},
        "group_subtasks": {task: []}, "configs": {task: config}, "versions": {task: 1.0},
        "n-shot": {task: config["num_fewshot"] if config["num_fewshot"] is not None else 0},
        "higher_is_better": {task: higher}, "n-samples": {task: {"original": n, "effective": n}},
        "config": {"model": model, "model_args": info.get("model") or {}, "batch_size": 1, "batch_sizes": [],
                   "device": None, "use_cache": str(store.path), "limit": cfg.get("limit"), "bootstrap_iters": 0,
                   "gen_kwargs": gen_kwargs, "random_seed": cfg.get("seed"), "numpy_seed": None, "torch_seed": None,
                   "fewshot_seed": cfg.get("seed")},
        "git_hash": None, "date": created.timestamp(), "pretty_env_info": f"written by clinqa {version('clinqa')}",
        "transformers_version": version("transformers"), "lm_eval_version": "N/A (written by clinqa)",
        "upper_git_hash": None,
        "task_hashes": {task: _hash("".join(s["doc_hash"] + s["prompt_hash"] + s["target_hash"] for s in samples))},
        # GeneralConfigTracker's fields, as EvaluationTracker.save_results_aggregated adds them
        "model_source": "clinqa", "model_name": model, "model_name_sanitized": _sanitize_model(model),
        "system_instruction": None, "system_instruction_sha": None, "fewshot_as_multiturn": False,
        "chat_template": None, "chat_template_sha": None,
        "total_evaluation_time_seconds": str(finished - created.timestamp()),
    }
    folder = Path(out) if out else store.dir / "lm-eval"
    folder = folder / _sanitize_model(model)
    folder.mkdir(parents=True, exist_ok=True)
    date_id = datetime.now().isoformat().replace(":", "-")
    res_path, smp_path = folder / f"results_{date_id}.json", folder / f"samples_{task}_{date_id}.jsonl"
    res_path.write_text(json.dumps(results, indent=2, default=str, ensure_ascii=False), encoding="utf-8")
    with open(smp_path, "w", encoding="utf-8") as fh:
        for s in samples:
            fh.write(json.dumps(s, default=str, ensure_ascii=False) + "\n")
    return res_path, smp_path


def _model_of(samples_path: Path) -> str:
    """The model named by the results_*.json beside the samples file (same date_id), else the folder's name (lm-eval
    writes both into <output>/<model_name_sanitized>/)."""
    samples_path = samples_path.resolve()
    date_id = samples_path.stem[samples_path.stem.rfind("_") + 1:]
    res = samples_path.with_name(f"results_{date_id}.json")
    if res.is_file():
        try:
            r = json.loads(res.read_text(encoding="utf-8"))
            return str(r.get("model_name") or r.get("config", {}).get("model") or samples_path.parent.name)
        except ValueError:
            pass
    return samples_path.parent.name


def answers_from_lmeval(path: str | Path) -> list[dict]:
    """Long-form answers from an lm-eval samples_<task>_<date>.jsonl of a generation task (first response per doc)."""
    path = Path(path)
    task = path.stem[path.stem.find("_") + 1:path.stem.rfind("_")]     # lm_eval.utils.get_file_task_name
    model, out, seen = _model_of(path), [], set()
    for line, s in read_jsonl(path):
        if "doc_id" not in s or "resps" not in s:
            raise DataError(path, "not an lm-eval samples line (needs doc_id and resps)", line=line)
        if s["doc_id"] in seen:                                        # one line per filter: keep the first
            continue
        seen.add(s["doc_id"])
        doc = s.get("doc") if isinstance(s.get("doc"), dict) else {}
        resps = s["resps"]
        text = resps[0][0] if resps and isinstance(resps[0], list) and resps[0] else None
        if not isinstance(text, str) or not text.strip():     # loglikelihood tasks log [[ll, is_greedy]] per choice
            raise DataError(path, "no generated text (a loglikelihood task?)", line=line, field="resps")
        args = s.get("arguments") or {}
        prompt = (args.get("gen_args_0") or {}).get("arg_0") if isinstance(args, dict) else None
        qid = doc.get("id") or doc.get("question_id") or doc.get("qid") or f"{task}-{s['doc_id']}"
        question = doc.get("question") or doc.get("Question") or doc.get("query") or doc.get("input") or prompt or ""
        out.append(dict(qid=str(qid), dataset=str(doc.get("dataset") or task), question=str(question), text=text.strip(),
                        model=model, prompt=prompt, params={"imported_from": str(path.resolve()), "format": "lm-eval",
                                                            "task": task, "line": line, "filter": s.get("filter"),
                                                            "gen_kwargs": (args.get("gen_args_0") or {}).get("arg_1")},
                        tokens=None, seconds=None, extra={"target": s.get("target"), "doc_id": s["doc_id"]}))
    if not out:
        raise DataError(path, "no samples in this file")
    return out
