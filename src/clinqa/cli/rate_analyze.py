"""`clinqa rate analyze` (analyse a rating study) and `clinqa rate simulate` (make one with known effects); registered
on the `rate` command group in `clinqa.cli.rate`."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from clinqa.cli.terminal import stdout_console

console = stdout_console()      # logs and pipes get whole tables


def load_study(study: Path, rubric=None):
    """A long-table file (CSV / JSONL / Parquet) or a run directory whose store holds ratings."""
    from clinqa.analysis.table import ratings_from_store, read_ratings
    if study.is_dir():
        from clinqa.eval.store import Store
        return ratings_from_store(Store.open_existing(study))
    return read_ratings(study, rubric)


def analyze(study: Path = typer.Argument(..., help="ratings long table (.csv/.jsonl/.parquet) or a run directory"),
            out: Path = typer.Option(None, help="report folder (default: <study>-analysis)"),
            resamples: int = typer.Option(10_000, help="bootstrap resamples and permutations (the paper: 10,000)"),
            one_per_answer: bool = typer.Option(False, help="draw one rating per answer in every resample and "
                                                "permutation (the paper, against single-rated sources)"),
            seed: int = typer.Option(0),
            margin: Optional[float] = typer.Option(None, help="non-inferiority margin as a share (e.g. 0.05): "
                                                   "each source against --reference, one-sided, Holm-corrected"),
            reference: str = typer.Option("physician", help="reference source of the non-inferiority tests"),
            bench: Optional[List[Path]] = typer.Option(None, help="`clinqa bench` run directories to include"),
            rubric: Optional[Path] = typer.Option(None, help="rubric JSON (default: the paper's)"),
            judge: Optional[List[Path]] = typer.Option(None, help="judge ratings to add (run directory of `clinqa "
                                                       "autorate` or a long table; raters auto:... / jury:...)"),
            design: Optional[Path] = typer.Option(None, help="design file of `clinqa judge select` (sampling "
                                                  "probabilities of the human-rated answers)")):
    """Per-axis best-bin shares with clustered bootstrap intervals, blocked permutation tests with Bonferroni/Holm,
    pairwise preferences, inter-rater reliability; HTML report, PNG/SVG figures and numbers.csv."""
    from clinqa.analysis.report import analyze as run_analysis
    from clinqa.analysis.report import write_report
    from clinqa.data.errors import DataError
    from clinqa.data.rubric import load_rubric
    from clinqa.eval.store import Store
    try:
        rb = load_rubric(rubric)
        ratings = load_study(study, rb)
        from clinqa.cli.judge_view import judge_inputs, print_judge
        ratings, lengths, plan = judge_inputs(ratings, [study] + list(judge or []), rb, design)
        stores = [Store.open_existing(b) for b in bench or []]
        with console.status(f"analysing {len(ratings)} ratings ({resamples} resamples) ..."):
            a = run_analysis(ratings, rb, resamples, seed, one_per_answer, stores, plan, lengths)
            if margin is not None:
                from clinqa.analysis.independent import noninferiority_all
                a.noninferiority = noninferiority_all(ratings, rb, reference, margin, resamples, seed, one_per_answer)
    except (DataError, FileNotFoundError, ValueError) as e:
        console.print(f"[red]error:[/] {e}")
        raise typer.Exit(2)
    for kind, rows in a.summaries.items():
        t = Table(title=f"{kind} ratings: share in the best bin % [95% bootstrap, clustered by answer]")
        sources = sorted({r.source for r in rows})
        t.add_column("axis")
        for s in sources:
            t.add_column(s, justify="right")
        t.add_column("p (Holm)", justify="right")
        comp = {c.axis: c for c in a.comparisons[kind]} if len(sources) == 2 else {}
        for axis in rb.axes(kind):
            cells = {r.source: r.best.fmt() for r in rows if r.axis == axis.key}
            c = comp.get(axis.key)
            t.add_row(axis.label, *[cells.get(s, "-") for s in sources], f"{c.p_holm:.4f}" if c else "")
        console.print(t)
    if a.preferences:
        t = Table(title="pairwise: share of ratings choosing each source % (intervals in the report)")
        for c in ("axis", "first", "tie", "second", "p"):
            t.add_column(c, justify="left" if c == "axis" else "right")
        for p in a.preferences:
            t.add_row(p.axis, f"{p.source_a} {100 * p.chose_a.estimate:.1f}", f"{100 * p.tie.estimate:.1f}",
                      f"{p.source_b} {100 * p.chose_b.estimate:.1f}",
                      f"{p.p_value:.4f}")
        console.print(t)
    if a.reliability:
        t = Table(title="inter-rater reliability")
        for c in ("kind", "axis", "items", "Randolph κ", "Fleiss κ", "Krippendorff α"):
            t.add_column(c, justify="left" if c in ("kind", "axis") else "right")
        for r in a.reliability:
            t.add_row(r.kind, r.axis + (" *" if r.note else ""), str(r.n_items), f"{r.randolph_kappa:.3f}",
                      f"{r.fleiss_kappa:.3f}", f"{r.krippendorff_alpha:.3f}")
        console.print(t)
        if any(r.note for r in a.reliability):
            console.print("* skewed base rates: Fleiss' κ and Krippendorff's α understate agreement (see report)")
    if a.judge:
        print_judge(a.judge, rb)
    if a.noninferiority:
        t = Table(title=f"non-inferiority against {reference} (margin {100 * margin:.1f} points, Holm)")
        for c in ("kind", "axis", "source", "difference", "lower bound", "p (Holm)", "non-inferior"):
            t.add_column(c, justify="left" if c in ("kind", "axis", "source") else "right")
        for x in a.noninferiority:
            t.add_row(x.kind, x.axis, x.source, f"{100 * x.difference:+.1f}", f"{100 * x.lower:+.1f}",
                      f"{x.p_holm:.4f}", "yes" if x.non_inferior else "no")
        console.print(t)
    out = out or study.with_name(study.stem + "-analysis")
    path = write_report(a, rb, out)
    console.print(f"report: {path}\nfigures (PNG and SVG) and numbers.csv in {out}")


def simulate(out: Path = typer.Argument(..., help="where to write the ratings (.csv, .jsonl or .parquet)"),
             questions: int = typer.Option(140), seed: int = typer.Option(0)):
    """Write a simulated study (model vs physician answers; known effects on some axes) as a ratings long table."""
    from clinqa.analysis.simulate import StudyDesign, simulate_study
    from clinqa.analysis.table import write_ratings
    ratings = simulate_study(StudyDesign(n_questions=questions), seed=seed)
    write_ratings(ratings, out)
    console.print(f"{len(ratings)} simulated ratings -> {out}")
