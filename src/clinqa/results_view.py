"""The terminal table of a run's results, whatever its task's kind: accuracy with intervals for multiple choice
(`report.metrics_table`), HealthBench's clipped mean scores by theme and axis for rubric-graded runs, K-QA's
comprehensiveness and hallucination rate for runs judged against gold statements (`analysis.kqa`)."""

from __future__ import annotations

from rich.table import Table

from clinqa.analysis.kqa import KQAScore, kqa_scores, run_verdicts
from clinqa.eval.healthbench import HealthBenchScorer, healthbench_metrics, parse_rate
from clinqa.eval.nli import NAME as NLI
from clinqa.eval.store import Store
from clinqa.report import label, metrics_table, rows_of


def _graded_by(rows: list[dict]) -> str | None:
    """The grading scorer of a run's results (HealthBench's, the NLI judge's), None for other runs."""
    names = {n for r in rows for n in (r.get("score") or {})}
    return next((n for n in (HealthBenchScorer.name, NLI) if n in names), None)


def is_graded_run(rows: list[dict]) -> bool:
    return _graded_by(rows) is not None


def kqa_table(scores: list[KQAScore], title: str) -> Table:
    t = Table(title=title)
    for c in ("source", "answers", "comprehensiveness", "hallucination rate", "statements", "unjudged"):
        t.add_column(c, justify="left" if c == "source" else "right")
    for s in scores:
        t.add_row(s.source, str(s.n_answers), s.comprehensiveness.fmt(), s.hallucination.fmt(), str(s.n_statements),
                  str(s.n_unjudged))
    return t


def results_table(store: Store) -> Table:
    rows = rows_of(store)
    graded = _graded_by(rows)
    if graded == NLI:
        model = str(store.run_info().get("config", {}).get("model"))
        return kqa_table(kqa_scores(run_verdicts(rows, model)),
                         f"{label(store)}: NLI judge against gold statements, % [95% bootstrap by answer]")
    if graded is None:
        return metrics_table([store])
    t = Table(title=f"HealthBench ({len(rows)} examples): score [95% bootstrap]")
    for c in ("metric", "examples", "score"):
        t.add_column(c)
    for name, (iv, count) in healthbench_metrics(rows).items():
        t.add_row(name, str(count), iv.fmt(False))
    return t


def parse_rate_line(store: Store) -> str:
    """How many of the grader's replies parsed (graded runs; empty otherwise)."""
    rows = rows_of(store)
    graded = _graded_by(rows)
    if graded is None:
        return ""
    if graded == NLI:
        labels = [v[3] for v in run_verdicts(rows)]
        parsed, total, unit = sum(x is not None for x in labels), len(labels), "statements"
    else:
        (parsed, total), unit = parse_rate(rows), "criteria"
    return f"grader parse rate: {parsed}/{total} {unit} ({100 * parsed / max(1, total):.1f}%)"
