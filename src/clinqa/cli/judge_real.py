"""`clinqa judge import-olaph / rater-card / ppi-real`: judges against real clinicians' ratings, registered on the
`judge` group of `clinqa.cli.judge`.

  import-olaph [FILE]   expert pairwise ratings (OLAPH format) with GPT-4's recorded verdicts -> ratings long table
  rater-card STUDY      per axis: the judge against each rater, the raters' leave-one-out ceiling, ties, a verdict
  ppi-real STUDY        PPI++ on real labels: coverage and width over random splits keeping a fraction of the raters
"""

from __future__ import annotations

import csv
from dataclasses import asdict
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from clinqa.cli.common import console, fail
from clinqa.data.errors import DataError
from clinqa.data.loaders.olaph import RELPATH, SOURCE_A
from clinqa.data.registry import data_root


real_app = typer.Typer()


@real_app.command("import-olaph")
def import_olaph(file: Optional[Path] = typer.Argument(None, help=f"OLAPH-format JSONL (default: <data root>/"
                                                       f"{RELPATH})"),
                 out: Path = typer.Option(..., help="ratings long table to write (.csv, .jsonl or .parquet)"),
                 data_dir: Optional[Path] = typer.Option(None, help="data root (default: $CLINQA_DATA or "
                                                         "../shared/data)")):
    """Read expert pairwise ratings on the nine axes and GPT-4's recorded verdicts (rater recorded:gpt4) strictly;
    every rating line that does not parse is listed and left out."""
    from clinqa.analysis.recorded import pairwise_study
    from clinqa.analysis.table import write_ratings
    path = file or data_root(data_dir) / RELPATH
    try:
        ratings, problems, items = pairwise_study(path)
    except DataError as e:
        fail(str(e))
    for p in problems:
        console.print(f"[yellow]unparsed:[/] {p}", soft_wrap=True)
    write_ratings(ratings, out)
    raters = sorted({r.rater for r in ratings})
    console.print(f"{len(items)} questions, {len(raters)} raters ({', '.join(raters)}): {len(ratings)} ratings, "
                  f"{len(problems)} rating lines did not parse -> {out}", soft_wrap=True)


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%" if x == x else "-"


@real_app.command("rater-card")
def rater_card_cmd(study: Path = typer.Argument(..., help="ratings long table or run directory with human and judge "
                                                "ratings (e.g. from `clinqa judge import-olaph`)"),
                   kind: str = typer.Option("pairwise"), resamples: int = typer.Option(2000),
                   seed: int = typer.Option(0), out: Optional[Path] = typer.Option(None, help="CSV of every number")):
    """Per axis: the judge's κ against each rater and pooled, the raters' leave-one-rater-out ceiling, the paired
    difference and a verdict (below / within / above the ceiling), and tie and first-position shares."""
    from clinqa.cli.rate_analyze import load_study
    from clinqa.analysis.rater_card import rater_card
    from clinqa.data.rubric import load_rubric
    try:
        rb = load_rubric()
        cards = rater_card(load_study(study, rb), rb.axes(kind), kind, resamples, seed)
    except (DataError, FileNotFoundError, ValueError) as e:
        fail(str(e))
    if not cards:
        fail(f"{study}: needs human ratings and judge ratings (raters auto:..., jury:... or recorded:...)")
    raters = sorted({r.rater for c in cards for r in c.raters})
    t = Table(title=f"judge card per rater ({', '.join(sorted({c.judge for c in cards}))}), {kind}: Cohen's κ [95% bootstrap by item]; ceiling = raters vs each other;"
                    " ties and first-position choices: judge / raters")
    for c in ["axis", "judged"] + [f"vs {r}" for r in raters] + ["judge κ", "ceiling κ", "Δ κ", "verdict",
                                                                "ties", "1st"]:
        t.add_column(c, justify="left" if c in ("axis", "judge", "verdict") else "right")
    for c in cards:
        per = {r.rater: f"{r.kappa.estimate:.2f}" for r in c.raters}
        t.add_row(c.axis if len({x.judge for x in cards}) == 1 else f"{c.axis} ({c.judge})", f"{c.n_judged}/{c.n_items}", *[per.get(r, "-") for r in raters],
                  c.kappa.fmt(False), c.ceiling_kappa.fmt(False), c.difference.fmt(False), c.verdict,
                  f"{_pct(c.judge_tie)}/{_pct(c.human_tie)}", f"{_pct(c.judge_first)}/{_pct(c.human_first)}")
    console.print(t)
    if out:
        rows = [dict(axis=c.axis, judge=c.judge, compared=who, statistic=stat, value=iv.estimate, low=iv.low,
                     high=iv.high) for c in cards
                for who, stat, iv in [("pooled", "kappa", c.kappa), ("pooled", "balanced_f1", c.f1),
                                      ("raters", "ceiling_kappa", c.ceiling_kappa),
                                      ("raters", "ceiling_balanced_f1", c.ceiling_f1),
                                      ("pooled", "kappa_minus_ceiling", c.difference)]
                + [(r.rater, "kappa", r.kappa) for r in c.raters]
                + [(r.rater, "ceiling_kappa", r.ceiling_kappa) for r in c.raters]]
        with open(out, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        console.print(f"numbers -> {out}")


@real_app.command("ppi-real")
def ppi_real(study: Path = typer.Argument(..., help="pairwise ratings long table with a judge on every item"),
             source: str = typer.Option(SOURCE_A, help="the preference share estimated: ratings choosing this source"),
             fractions: str = typer.Option("0.1,0.25,0.5", help="shares of items that keep their human ratings"),
             splits: int = typer.Option(1000, help="random splits per fraction"), seed: int = typer.Option(0),
             out: Optional[Path] = typer.Option(None, help="CSV of every row")):
    """PPI++ on real labels: per axis and fraction, coverage of the all-raters share and mean interval width of
    human-only, judge-only and PPI++ over seeded random splits."""
    from clinqa.cli.rate_analyze import load_study
    from clinqa.analysis.ppi_real import METHODS, coverage_on_real
    from clinqa.data.rubric import load_rubric
    try:
        fr = [float(x) for x in fractions.split(",")]
        if not all(0 < x < 1 for x in fr):
            raise ValueError(f"--fractions: shares between 0 and 1, not {fractions!r}")
        rb = load_rubric()
        with console.status(f"{splits} splits x {len(fr)} fractions x 9 axes ..."):
            rows = coverage_on_real(load_study(study, rb), rb.axes("pairwise"), source, fr, splits, seed)
    except (DataError, FileNotFoundError, ValueError) as e:
        fail(str(e))
    if not rows:
        fail(f"{study}: no axis has a judge verdict and human ratings on 4 or more items")
    t = Table(title=f"share choosing {source}: coverage of the all-raters value / mean 95% width over {splits} splits")
    for c in ("axis", "kept", "target %", *[f"{m} cov." for m in METHODS], *[f"{m} width" for m in METHODS],
              "PPI/human width", "λ"):
        t.add_column(c, justify="left" if c == "axis" else "right")
    for r in rows:
        t.add_row(r.axis, f"{r.n_labeled}/{r.n_items}", f"{100 * r.target:.1f}",
                  *[_pct(r.coverage[m]) for m in METHODS], *[f"{100 * r.width[m]:.1f}" for m in METHODS],
                  f"{r.width_ratio:.2f}" if r.width_ratio == r.width_ratio else "-", f"{r.mean_lambda:.2f}")
    console.print(t)
    if out:
        flat = [{k: v for k, v in asdict(r).items() if k not in ("coverage", "width")}
                | {f"coverage_{m}": r.coverage[m] for m in METHODS} | {f"width_{m}": r.width[m] for m in METHODS}
                for r in rows]
        with open(out, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(flat[0]))
            w.writeheader()
            w.writerows(flat)
        console.print(f"rows -> {out}")


