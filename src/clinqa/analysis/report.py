"""`clinqa rate analyze`: turn a study's ratings (and optionally `bench` runs) into one self-contained HTML report,
the figures as PNG and SVG, and `numbers.csv` holding every number the report shows."""

from __future__ import annotations

import base64
import csv
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from jinja2 import Environment, select_autoescape

from clinqa.analysis.figures import independent_figure, pairwise_figure
from clinqa.analysis.independent import AxisSource, SourceComparison, compare_sources, summarize
from clinqa.analysis.pairwise import Preference, preferences
from clinqa.analysis.reliability import AxisReliability, reliability
from clinqa.analysis.resampling import N_RESAMPLES
from clinqa.analysis.table import Rating
from clinqa.data.rubric import Rubric


@dataclass
class Analysis:
    n_ratings: int
    sources: list[str]
    raters: dict[str, int]                      # kind -> number of raters
    summaries: dict[str, list[AxisSource]]      # kind -> rows
    comparisons: dict[str, list[SourceComparison]]
    preferences: list[Preference]
    reliability: list[AxisReliability]
    settings: dict
    bench: list = field(default_factory=list)   # (label, metrics) per bench run
    bench_pairs: list = field(default_factory=list)
    bench_stores: list = field(default_factory=list)
    judge: object = None                        # JudgeSection when the study has judge and human ratings
    noninferiority: list = field(default_factory=list)   # NonInferiority rows (analyze --margin)


def analyze(ratings: list[Rating], rubric: Rubric, n_resamples: int = N_RESAMPLES, seed: int = 0,
            one_per_answer: bool = False, bench_stores=(), design=None, lengths=None) -> Analysis:
    if not ratings:
        raise ValueError("the study has no ratings")
    from clinqa.analysis.judge import split_judge
    from clinqa.analysis.judge_report import judge_section
    judge = judge_section(ratings, rubric, min(n_resamples, 2000), seed, design, lengths)
    ratings = split_judge(ratings)[0] or ratings      # the paper's statistics: human ratings only
    kinds = [k for k in ("physician", "lay") if any(r.kind == k for r in ratings)]
    summaries = {k: summarize(ratings, rubric.axes(k), k, n_resamples, seed, one_per_answer) for k in kinds}
    comparisons = {k: compare_sources(ratings, rubric.axes(k), k, n_resamples, seed, one_per_answer) for k in kinds}
    rel = [x for k in kinds + ["pairwise"] for x in reliability(ratings, rubric.axes(k), k)]
    a = Analysis(len(ratings), sorted({r.source for r in ratings}),
                 {k: len({r.rater for r in ratings if r.kind == k}) for k in ("physician", "lay", "pairwise")},
                 summaries, comparisons, preferences(ratings, rubric.axes("pairwise")), rel,
                 {"resamples": n_resamples, "seed": seed, "one_per_answer": one_per_answer, "rubric": rubric.name})
    a.judge = judge
    if bench_stores:
        from clinqa.metrics import compare_runs, run_metrics
        from clinqa.report import label
        a.bench_stores = list(bench_stores)
        a.bench = [(label(s), run_metrics(s.results())) for s in bench_stores]
        a.bench_pairs = [(label(x), label(y), *compare_runs(x, y)) for x, y in zip(bench_stores, bench_stores[1:])]
    return a


def number_rows(a: Analysis) -> list[dict]:
    """Every number in the report, one row each."""
    rows = []

    def add(section, kind, axis, source, other, statistic, value, low=None, high=None, n=None):
        rows.append(dict(section=section, kind=kind, axis=axis, source=source, other=other, statistic=statistic,
                         value=value, low=low, high=high, n=n))
    for kind, srows in a.summaries.items():
        for r in srows:
            add("independent", kind, r.axis, r.source, "", "best_bin_share", r.best.estimate, r.best.low, r.best.high,
                r.n_ratings)
            for v, s in r.distribution.items():
                add("independent", kind, r.axis, r.source, "", f"share:{v}", s, n=r.n_ratings)
    for kind, comps in a.comparisons.items():
        for c in comps:
            for stat, v in (("difference", c.difference), ("p_value", c.p_value), ("p_bonferroni", c.p_bonferroni),
                            ("p_holm", c.p_holm)):
                add("comparison", kind, c.axis, c.source_a, c.source_b, stat, v, n=c.n_questions)
    for x in a.noninferiority:
        add("noninferiority", x.kind, x.axis, x.source, x.reference, "difference", x.difference, x.lower, None,
            x.n_questions)
        for stat in ("margin", "p_value", "p_holm"):
            add("noninferiority", x.kind, x.axis, x.source, x.reference, stat, getattr(x, stat), n=x.n_questions)
    for p in a.preferences:
        for stat, iv in (("chose_" + p.source_a, p.chose_a), ("chose_" + p.source_b, p.chose_b), ("tie", p.tie)):
            add("pairwise", "pairwise", p.axis, p.source_a, p.source_b, stat, iv.estimate, iv.low, iv.high, p.n)
        add("pairwise", "pairwise", p.axis, p.source_a, p.source_b, "p_value", p.p_value, n=p.n)
        add("pairwise", "pairwise", p.axis, p.source_a, p.source_b, "answer_1_share", p.answer_1_share, n=p.n)
    for r in a.reliability:
        for stat in ("percent_agreement", "randolph_kappa", "fleiss_kappa", "krippendorff_alpha", "dominant_share"):
            add("reliability", r.kind, r.axis, "", "", stat, getattr(r, stat), n=r.n_items)
    for name, metrics in a.bench:
        for g in metrics:
            add("bench", "multiple-choice", g.group, name, "", "accuracy", g.accuracy.estimate, g.accuracy.low,
                g.accuracy.high, g.n)
    for x, y, pc, _ in a.bench_pairs:
        add("bench", "multiple-choice", "all", x, y, "difference", pc.diff.estimate, pc.diff.low, pc.diff.high, pc.n)
        add("bench", "multiple-choice", "all", x, y, "mcnemar_p", pc.mcnemar_p, n=pc.n)
    if a.judge:
        from clinqa.analysis.judge_report import judge_number_rows
        rows += judge_number_rows(a.judge)
    return rows


def write_report(a: Analysis, rubric: Rubric, out_dir: str | Path) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    figures = {}
    for kind, srows in a.summaries.items():
        figures[f"{kind}_axes"] = independent_figure(srows, rubric.axes(kind), kind)
    if a.preferences:
        figures["pairwise"] = pairwise_figure(a.preferences, rubric.axes("pairwise"))
    if a.bench:
        from clinqa.report import accuracy_plot
        figures["accuracy_by_strategy"] = accuracy_plot(a.bench_stores)
    if a.judge:
        from clinqa.analysis.judge_report import judge_figures
        figures.update(judge_figures(a.judge, {x.key: x.label for k in ("physician", "lay", "pairwise")
                                                for x in rubric.axes(k)}))
    for name, (png, svg) in figures.items():
        (out / f"{name}.png").write_bytes(png)
        (out / f"{name}.svg").write_bytes(svg)
    rows = number_rows(a)
    with open(out / "numbers.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    labels = {x.key: x.label for k in ("physician", "lay", "pairwise") for x in rubric.axes(k)}
    env = Environment(autoescape=select_autoescape(["html"]))
    tpl = env.from_string((resources.files("clinqa") / "resources" / "templates" / "analysis.html").read_text())
    b64 = {k: base64.b64encode(v[0]).decode() for k, v in figures.items()}
    judge_html = ""
    if a.judge:
        from clinqa.analysis.judge_report import judge_html as render_judge
        judge_html = render_judge(a.judge, labels, b64)
    html = tpl.render(a=a, labels=labels, figures=b64, judge_html=judge_html)
    (out / "report.html").write_text(html)
    return out / "report.html"
