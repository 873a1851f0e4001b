"""lm-evaluation-harness result files, both ways, in the layout lm-eval 0.4's `EvaluationTracker` writes:

  <out>/<model_name_sanitized>/results_<date_id>.json           aggregated results + run config
  <out>/<model_name_sanitized>/samples_<task>_<date_id>.jsonl   one line per question (doc_id, doc, target, arguments,
                                                               resps, filtered_resps, filter, metrics, hashes, acc)
with date_id = datetime.now().isoformat() with ":" -> "-", hashes = sha256 hex, `arguments` as
{"gen_args_i": {"arg_j": ...}} and resps/filtered_resps stringified, exactly as lm-eval sanitizes them.
Export needs no lm-eval; import reads `samples_*.jsonl` of generation tasks as long-form answers.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

from clinqa.data.errors import DataError
from clinqa.data.loaders.common import read_jsonl
from clinqa.logs.common import bench_run, first_prompt


def _hash(s: str) -> str:                      # lm_eval.utils.hash_string
    return hashlib.sha256(s.encode("utf-8")).hexdigest()


def _sanitize_model(name: str) -> str:         # lm_eval.utils.sanitize_model_name
    return re.sub(r"[\"<>:/|\\?*\[\]]+", "__", name)


def _strs(x):                                  # lm_eval.utils.sanitize_list
    return [_strs(i) for i in x] if isinstance(x, (list, tuple)) else str(x)


def _sample(row: dict, doc_id: int, filter_key: str, gen_kwargs: dict) -> dict:
    meta = row.get("meta") or {}
    doc = {"id": row["qid"], "question": meta.get("question"), "options": meta.get("options"), "answer": row["gold"],
           "dataset": row["dataset"], "subject": row.get("subject")}
    prompt = first_prompt(row)
    texts = [s["text"] for s in row.get("samples") or []] or [f"({row['prediction']})" if row["prediction"] else ""]
    acc = 1.0 if row["correct"] else 0.0
    return {"doc_id": doc_id, "doc": doc, "target": str(row["gold"]),
            "arguments": {"gen_args_0": {"arg_0": prompt, "arg_1": gen_kwargs}},
            "resps": _strs([texts]), "filtered_resps": _strs([row["prediction"] or "[invalid]"]),
            "filter": filter_key, "metrics": ["acc"],
            "doc_hash": _hash(json.dumps(doc, indent=2, default=str, ensure_ascii=False)),
            "prompt_hash": _hash(prompt), "target_hash": _hash(str(row["gold"])), "acc": acc}


def export_lmeval(run_dir: str | Path, out: str | Path | None = None) -> tuple[Path, Path]:
    """Write results_*.json and samples_*.jsonl for the run; returns their paths (default out: <run>/lm-eval)."""
    store, info, rows = bench_run(run_dir)
    cfg = info.get("config") or {}
    model = str(cfg.get("model", "unknown"))
    task = re.sub(r"\W", "_", f"clinqa_{cfg.get('dataset')}_{cfg.get('strategy')}")
    filter_key = "majority_vote" if any((r.get("n_samples") or 1) > 1 for r in rows) else "none"
    gen_kwargs = {"temperature": cfg.get("temperature"), "top_p": cfg.get("top_p"),
                  "max_gen_toks": cfg.get("max_tokens"), "seed": cfg.get("seed")}
    samples = [_sample(r, i, filter_key, gen_kwargs) for i, r in enumerate(rows)]
    n, acc = len(rows), sum(s["acc"] for s in samples) / len(rows)
    stderr = math.sqrt(acc * (1 - acc) / (n - 1)) if n > 1 else "N/A"      # lm-eval's mean_stderr (sample std)
    config = {"task": task, "dataset_path": f"clinqa:{cfg.get('dataset')}", "test_split": cfg.get("split"),
              "description": "", "doc_to_text": "clinqa prompt (see arguments)", "doc_to_target": "answer",
              "target_delimiter": " ", "fewshot_delimiter": "\n\n", "should_decontaminate": False,
              "output_type": "multiple_choice" if cfg.get("strategy") == "loglik" else "generate_until",
              "num_fewshot": cfg.get("k_shot"), "repeats": max(r.get("n_samples") or 1 for r in rows),
              "generation_kwargs": gen_kwargs,
              "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
              "metadata": {"version": 1.0, "clinqa": cfg, "clinqa_run_dir": str(store.dir.resolve())}}
    created = datetime.fromtimestamp(info.get("created") or 0)
    finished = max(r.get("finished") or 0 for r in rows)
    results = {
        "results": {task: {"name": task, "alias": task, "sample_len": n, f"acc,{filter_key}": acc,
                           f"acc_stderr,{filter_key}": stderr}},
        "group_subtasks": {task: []}, "configs": {task: config}, "versions": {task: 1.0},
        "n-shot": {task: cfg.get("k_shot") if cfg.get("k_shot") is not None else 0},
        "higher_is_better": {task: {"acc": True}}, "n-samples": {task: {"original": n, "effective": n}},
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
