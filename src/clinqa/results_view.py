"""The terminal table of a run's results, whatever its task's kind: accuracy with intervals for multiple choice
(`report.metrics_table`), HealthBench's clipped mean scores by theme and axis for rubric-graded runs."""

from __future__ import annotations

from rich.table import Table

from clinqa.eval.healthbench import healthbench_metrics, parse_rate
from clinqa.eval.store import Store
from clinqa.report import metrics_table, rows_of


def is_rubric_run(rows: list[dict]) -> bool:
    return any("healthbench" in (r.get("score") or {}) for r in rows)


def results_table(store: Store) -> Table:
    rows = rows_of(store)
    if not is_rubric_run(rows):
        return metrics_table([store])
    t = Table(title=f"HealthBench ({len(rows)} examples): score [95% bootstrap]")
    for c in ("metric", "examples", "score"):
        t.add_column(c)
    for name, (iv, count) in healthbench_metrics(rows).items():
        t.add_row(name, str(count), iv.fmt(False))
    return t


def parse_rate_line(store: Store) -> str:
    """How many of the grader's replies parsed (rubric-graded runs; empty otherwise)."""
    rows = rows_of(store)
    if not is_rubric_run(rows):
        return ""
    parsed, criteria = parse_rate(rows)
    return f"grader parse rate: {parsed}/{criteria} criteria ({100 * parsed / max(1, criteria):.1f}%)"
