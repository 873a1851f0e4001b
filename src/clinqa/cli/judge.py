"""`clinqa judge ...`: how far to trust an LLM grader, and judged numbers with valid intervals.

  card STUDY          the judge card (agreement with physicians vs their own ceiling), bias probes and PPI estimates
  simulate OUT        a simulated study with a lenient judge and physicians on a share of the answers
  select RUN          choose the answers physicians should rate under a budget; writes the design file
  autorate RUN        a jury: `autorate` with several grader models plus their combined rating
  position RUN        position-bias probe: every pair graded with the answers swapped
  healthbench FILE    grade HealthBench conversations with a grader (see `clinqa.eval.healthbench`)
  healthbench-meta F  HealthBench's meta-eval: the grader against physicians' rubric labels
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from clinqa.cli.common import console, fail
from clinqa.cli.judge_kqa import kqa_app
from clinqa.cli.judge_real import real_app
from clinqa.cli.judge_run import run_app
from clinqa.cli.judge_view import _ratings_and_lengths, judge_inputs, print_judge
from clinqa.data.errors import DataError

judge_app = typer.Typer(help="LLM judge: judge card, prediction-powered estimates, active selection, jury, "
                             "HealthBench", no_args_is_help=True)
@judge_app.command()
def card(study: Path = typer.Argument(..., help="ratings long table or run directory (human and judge ratings)"),
         judge: Optional[List[Path]] = typer.Option(None, help="more judge ratings (run directory or long table)"),
         design: Optional[Path] = typer.Option(None, help="design file from `clinqa judge select`"),
         out: Optional[Path] = typer.Option(None, help="folder for judge_card.html, figures and numbers.csv"),
         resamples: int = typer.Option(2000), seed: int = typer.Option(0),
         rubric: Optional[Path] = typer.Option(None, help="rubric JSON (default: the paper's)")):
    """The judge card: per axis and source, the judge's κ and balanced F1 against physicians next to the physicians'
    own (leave-one-rater-out), bias probes, and the best-bin shares human-only / judge-only / PPI++."""
    import base64
    import csv

    from clinqa.analysis.judge_report import judge_figures, judge_html, judge_number_rows, judge_section
    from clinqa.analysis.table import read_ratings
    from clinqa.data.rubric import load_rubric
    try:
        rb = load_rubric(rubric)
        ratings = _ratings_and_lengths(study, rb)[0] if study.is_dir() else read_ratings(study, rb)
        ratings, lengths, plan = judge_inputs(ratings, [study] + list(judge or []), rb, design)
        s = judge_section(ratings, rb, resamples, seed, plan, lengths)
    except (DataError, FileNotFoundError, ValueError) as e:
        fail(str(e))
    if s is None:
        fail(f"{study}: needs both human ratings and judge ratings (raters auto:... or jury:...)")
    print_judge(s, rb)
    out = out or study.with_name(study.stem + "-judge")
    out.mkdir(parents=True, exist_ok=True)
    labels = {x.key: x.label for k in ("physician", "lay", "pairwise") for x in rb.axes(k)}
    figs = judge_figures(s, labels)
    for name, (png, svg) in figs.items():
        (out / f"{name}.png").write_bytes(png)
        (out / f"{name}.svg").write_bytes(svg)
    body = judge_html(s, labels, {k: base64.b64encode(v[0]).decode() for k, v in figs.items()})
    (out / "judge_card.html").write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>judge card"
                                         f"</title></head><body>{body}</body></html>")
    rows = judge_number_rows(s)
    with open(out / "numbers.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    console.print(f"judge card: {out / 'judge_card.html'} (figures and numbers.csv beside it)", markup=False,
                  soft_wrap=True)


@judge_app.command()
def simulate(out: Path = typer.Argument(..., help="ratings long table to write (.csv, .jsonl, .parquet)"),
             questions: int = typer.Option(140), human_share: float = typer.Option(
                 0.3, help="share of answers that keep their physician ratings"),
             skill: float = typer.Option(0.7, help="probability the judge rates like a physician"),
             leniency: float = typer.Option(0.5, help="otherwise: probability it says the best bin"),
             seed: int = typer.Option(0)):
    """A simulated study with a lenient judge ("auto:simulated-judge") on every answer and physicians on some."""
    from clinqa.analysis.judge_sim import keep_humans_on, simulated_judged_study
    from clinqa.analysis.simulate import StudyDesign
    from clinqa.analysis.table import write_ratings
    ratings = simulated_judged_study(StudyDesign(n_questions=questions), seed=seed, skill=skill, leniency=leniency)
    ratings = keep_humans_on(ratings, human_share, seed)
    write_ratings(ratings, out)
    console.print(f"{len(ratings)} simulated ratings (judge on every answer, physicians on ~{100 * human_share:.0f}%)"
                  f" -> {out}")


judge_app.add_typer(run_app)      # select, autorate, position, healthbench, healthbench-meta
judge_app.add_typer(real_app)     # import-olaph, rater-card, ppi-real
judge_app.add_typer(kqa_app)      # kqa, kqa-card
