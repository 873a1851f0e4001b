"""What a finished run's stored rows hold, whatever its task's kind, for the exports (`clinqa.logs`) and the reports:

- `run_kind(rows)`: "mc" (rows carry the question's options), "rubric" (a scorer graded rubric criteria),
  "custom" (a task's own scorers), "longform" (no scores: answers are rated afterwards);
- one row's input (the question, or the conversation), model output, target and scores by scorer name;
- `kind_metrics(rows)`: the metrics the kind has. Multiple choice: letter accuracy. Rubric: HealthBench's clipped
  mean scores with their 95% bootstrap interval (`eval.healthbench.healthbench_metrics`) and the grader's parse rate.
  Long-form and custom: count, mean tokens, and the mean of each numeric or true/false scorer value with its
  standard error (sample standard deviation / sqrt(n), lm-eval's `mean_stderr` and inspect's `stderr`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from clinqa.eval.healthbench import healthbench_metrics, parse_rate
from clinqa.stats import Interval


@dataclass(frozen=True)
class Metric:
    name: str                          # a scorer's name, a HealthBench metric (overall_score, theme:..), tokens, ...
    value: float
    n: int                             # samples (or, for parse_rate, criteria) it is computed over
    stderr: float | None = None
    interval: Interval | None = None   # 95% bootstrap, where the kind reports one
    scorer: str | None = None          # the scorer whose values it summarises; None for the run's own (tokens)
    aggregate: str = "mean"            # "accuracy" for true/false values (inspect's name for their mean)


def row_scores(row: dict) -> dict[str, dict]:
    """The run's scores of one sample by scorer name (a row made before the eval core: its correct flag as "choice")."""
    if row.get("score"):
        return row["score"]
    if row.get("correct") is None:
        return {}
    return {"choice": {"value": bool(row["correct"]), "answer": row["prediction"], "explanation": "", "metadata": {}}}


def rubric_scorers(rows: list[dict]) -> list[str]:
    """Names of the scorers that graded rubric criteria (their scores hold `criteria_met`)."""
    return list(dict.fromkeys(name for r in rows for name, s in row_scores(r).items()
                              if "criteria_met" in (s.get("metadata") or {})))


def run_kind(rows: list[dict]) -> str:
    if any((r.get("meta") or {}).get("options") for r in rows):
        return "mc"
    if rubric_scorers(rows):
        return "rubric"
    return "custom" if any(row_scores(r) for r in rows) else "longform"


def row_input(row: dict) -> str | list[dict]:
    """The question (multiple choice, a question file) or the conversation as chat messages."""
    meta = row.get("meta") or {}
    return meta.get("question") or meta.get("input") or row["qid"]


def row_output(row: dict) -> str:
    """The model's output: the completion; for multiple choice the text behind the final prediction (the first
    sample whose answer is the prediction, else the first sample, else, for loglik, the chosen option as "(X)")."""
    completion = (row.get("meta") or {}).get("completion")
    if completion:
        return completion
    samples = row.get("samples") or []
    for s in samples:
        if row["prediction"] is not None and s.get("answer") == row["prediction"]:
            return s["text"]
    return samples[0]["text"] if samples else f"({row['prediction']})" if row["prediction"] else ""


def row_target(row: dict) -> str | list[str] | None:
    """The gold letter or reference; the rubric's criteria where the grader stored them; None when not stored."""
    if row.get("gold") is not None:
        return row["gold"]
    meta = row.get("meta") or {}
    if meta.get("target") is not None:
        return meta["target"]
    return next((s["metadata"]["criteria"] for s in row_scores(row).values()
                 if (s.get("metadata") or {}).get("criteria")), None)


def numeric(value) -> float | None:
    """A scorer value as a number (true/false as 1/0); None for no value or a value that is no number."""
    if isinstance(value, bool):
        return float(value)
    return float(value) if isinstance(value, (int, float)) and not math.isnan(value) else None


def mean_metric(name: str, values: list[float], **kw) -> Metric:
    n = len(values)
    mean = sum(values) / n if n else math.nan
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return Metric(name, mean, n, sd / math.sqrt(n) if n else None, **kw)


def scorer_means(rows: list[dict]) -> list[Metric]:
    """Per scorer with numeric or true/false values: their mean (accuracy for true/false) and standard error."""
    out = []
    for name in dict.fromkeys(name for r in rows for name in row_scores(r)):
        raw = [row_scores(r).get(name, {}).get("value") for r in rows]
        values = [v for v in map(numeric, raw) if v is not None]
        if values:
            boolean = all(isinstance(v, bool) for v in raw if v is not None)
            out.append(mean_metric(name, values, scorer=name, aggregate="accuracy" if boolean else "mean"))
    return out


def kind_metrics(rows: list[dict], n_boot: int = 1000, seed: int = 0) -> list[Metric]:
    """The metrics of the run's kind (see the module's docstring), scorer means last."""
    kind, out = run_kind(rows), []
    graded = rubric_scorers(rows)
    if kind == "rubric":
        by_name = healthbench_metrics(rows, n_boot, seed)
        out += [Metric(name, iv.estimate, count, interval=iv, scorer=graded[0])
                for name, (iv, count) in sorted(by_name.items(), key=lambda kv: kv[0] != "overall_score")]
        parsed, criteria = parse_rate(rows)
        out.append(Metric("parse_rate", parsed / criteria if criteria else math.nan, criteria, scorer=graded[0]))
    if kind in ("longform", "custom"):
        out.append(mean_metric("tokens", [float(r.get("tokens") or 0) for r in rows]))
    return out + [m for m in scorer_means(rows) if m.scorer not in graded]
