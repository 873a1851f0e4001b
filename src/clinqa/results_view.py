"""A run's results whatever its task's kind (`eval.summary.run_kind`): the terminal table (multiple choice: accuracy
with its intervals, `report.metrics_table`; runs judged against gold statements: K-QA's comprehensiveness and
hallucination rate, `analysis.kqa`; other kinds: the metrics their kind has, `eval.summary.kind_metrics`) and the HTML
report, `write_html`: per run a metrics section fitting its kind (multiple choice: accuracy, baselines, letters and
the accuracy plot) and every sample (input, output, target, each scorer's value and explanation; a rubric's grade of
each criterion with the grader's reply)."""

from __future__ import annotations

import base64
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from rich.table import Table

from clinqa.analysis.kqa import KQAScore, kqa_scores, run_verdicts
from clinqa.eval.healthbench import parse_rate
from clinqa.eval.nli import NAME as NLI
from clinqa.eval.store import Store
from clinqa.eval.summary import Metric, kind_metrics, row_input, row_output, row_scores, row_target, run_kind
from clinqa.metrics import letter_distribution, order_note, run_metrics
from clinqa.report import (accuracy_plot, backend_text, baseline_lines, group_by, label, labels, metrics_table,
                           rows_of, shown_config)


METRIC_COLUMNS = ("metric", "n", "value", "95% bootstrap", "stderr")


def metric_cells(m: Metric) -> tuple[str, str, str]:
    """(value, 95% interval, stderr) of a metric as printed: 3 decimals, empty where the kind has none."""
    interval = f"[{m.interval.low:.3f}, {m.interval.high:.3f}]" if m.interval is not None else ""
    return f"{m.value:.3f}", interval, f"{m.stderr:.3f}" if m.stderr is not None else ""


def metric_rows(metrics: list[Metric]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a metrics table; the interval and stderr columns only where a metric has one."""
    rows = [[m.name, str(m.n), *metric_cells(m)] for m in metrics]
    shown = [i for i in range(len(METRIC_COLUMNS)) if i < 3 or any(r[i] for r in rows)]
    return [METRIC_COLUMNS[i] for i in shown], [[r[i] for i in shown] for r in rows]

def judged_by_nli(rows: list[dict]) -> bool:
    """A run whose answers the NLI judge scored against gold statements (K-QA)."""
    return any(NLI in (r.get("score") or {}) for r in rows)


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
    if judged_by_nli(rows):
        model = str(store.run_info().get("config", {}).get("model"))
        return kqa_table(kqa_scores(run_verdicts(rows, model)),
                         f"{label(store)}: NLI judge against gold statements, % [95% bootstrap by answer]")
    kind = run_kind(rows)
    if kind == "mc":
        return metrics_table([store])
    t = Table(title=f"HealthBench ({len(rows)} examples): score [95% bootstrap]" if kind == "rubric" else
              f"{kind} run: {len(rows)} samples")
    header, cells = metric_rows(kind_metrics(rows))
    for i, c in enumerate(header):
        t.add_column(c, justify="left" if i == 0 else "right", no_wrap=i > 0)
    for r in cells:
        t.add_row(*r)
    return t


def parse_rate_line(store: Store) -> str:
    """How many of the grader's replies parsed (graded runs; empty otherwise)."""
    rows = rows_of(store)
    if judged_by_nli(rows):
        verdicts = [v[3] for v in run_verdicts(rows)]
        parsed, total, unit = sum(x is not None for x in verdicts), len(verdicts), "statements"
    elif run_kind(rows) == "rubric":
        (parsed, total), unit = parse_rate(rows), "criteria"
    else:
        return ""
    return f"grader parse rate: {parsed}/{total} {unit} ({100 * parsed / max(1, total):.1f}%)"


def _criteria(meta: dict) -> list[dict]:
    """A rubric scorer's grade of each criterion: its text where stored, met / not met / None (unparsed), the
    grader's last reply."""
    met, raws = meta["criteria_met"], meta.get("raw") or []
    texts = meta.get("criteria") or [f"criterion {i + 1}" for i in range(len(met))]
    return [{"text": t, "met": m, "reply": raws[i][-1] if i < len(raws) and raws[i] else ""}
            for i, (t, m) in enumerate(zip(texts, met))]


def sample_view(row: dict) -> dict:
    """What the report shows of one sample of a run that is not multiple choice."""
    given = row_input(row)
    scores = [{"name": name, "value": s.get("value"), "answer": s.get("answer"), "explanation": s.get("explanation"),
               "criteria": _criteria(s["metadata"]) if "criteria_met" in (s.get("metadata") or {}) else None}
              for name, s in row_scores(row).items()]
    return {"qid": row["qid"], "question": given if isinstance(given, str) else None,
            "messages": None if isinstance(given, str) else given, "output": row_output(row),
            "target": row_target(row), "scores": scores, "tokens": row.get("tokens"),
            "prompts": row.get("prompts") or {}}


def run_view(store: Store, name: str) -> dict:
    rows, info = rows_of(store), store.run_info()
    config = info.get("config", {})
    view = {"label": name, "kind": run_kind(rows), "info": info, "backend": backend_text(info.get("model")),
            "config": shown_config(config), "order": order_note(config)}
    if view["kind"] == "mc":
        return {**view, "metrics": run_metrics(rows, group_by(store)), "rows": rows,
                "letters": letter_distribution(rows), "baselines": baseline_lines(rows)}
    return {**view, "metric_table": metric_rows(kind_metrics(rows)),
            "samples": [sample_view(r) for r in rows]}


def write_html(stores: list[Store], out: Path) -> Path:
    """The HTML report of the runs (any kinds); with multiple-choice runs also the accuracy plot as .png and .svg
    beside it."""
    env = Environment(loader=PackageLoader("clinqa", "resources/templates"), autoescape=select_autoescape(["html"]))
    tpl = env.get_template("report.html")
    runs = [run_view(s, name) for s, name in zip(stores, labels(stores))]
    choice = [s for s, run in zip(stores, runs) if run["kind"] == "mc"]
    png, svg = accuracy_plot(choice) if choice else (None, None)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(tpl.render(runs=runs, plot=base64.b64encode(png).decode() if png else None))
    if png:
        out.with_suffix(".png").write_bytes(png)
        out.with_suffix(".svg").write_bytes(svg)
    return out
