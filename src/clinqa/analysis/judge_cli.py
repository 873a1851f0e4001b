"""`clinqa judge ...`: how far to trust an LLM grader, and judged numbers with valid intervals.

  card STUDY          the judge card (agreement with physicians vs their own ceiling), bias probes and PPI estimates
  simulate OUT        a simulated study with a lenient judge and physicians on a share of the answers
  select RUN          choose the answers physicians should rate under a budget; writes the design file
  autorate RUN        a jury: `autorate` with several grader models plus their combined rating
  position RUN        position-bias probe: every pair graded with the answers swapped
  healthbench FILE    grade HealthBench conversations with a grader (see `clinqa.healthbench`)
  healthbench-meta F  HealthBench's meta-eval: the grader against physicians' rubric labels
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

from clinqa.data.errors import DataError
from clinqa.terminal import stdout_console

judge_app = typer.Typer(help="LLM judge: judge card, prediction-powered estimates, active selection, jury, "
                             "HealthBench", no_args_is_help=True)
console = stdout_console()      # pipes get whole tables
err = Console(soft_wrap=True)          # errors stay on one line


def _fail(msg: str):
    err.print(f"[red]error:[/] {msg}")
    raise typer.Exit(2)


def _ratings_and_lengths(path: Path, rubric):
    from clinqa.analysis.table import ratings_from_store, read_ratings
    if path.is_dir():
        from clinqa.store import Store
        store = Store.open_existing(path)
        return ratings_from_store(store), {a["answer_id"]: len(a["text"] or "") for a in store.answers()}
    return read_ratings(path, rubric), {}


def judge_inputs(ratings, paths, rubric, design: Path | None):
    """Study ratings plus the judge ratings in paths[1:], answer lengths from any run directory, the design."""
    from clinqa.analysis.active import read_design
    lengths = {}
    for i, p in enumerate(paths):
        if i == 0 and not p.is_dir():
            continue
        more, ln = _ratings_and_lengths(p, rubric)
        lengths.update(ln)
        if i:
            ratings = ratings + more
    return ratings, lengths, read_design(design) if design else None


def print_judge(s, rubric) -> None:
    labels = {x.key: x.label for k in ("physician", "lay", "pairwise") for x in rubric.axes(k)}
    for kind, rows in s.card.items():
        t = Table(title=f"judge card, {kind}: agreement with physicians [95% bootstrap by answer]; ceiling = "
                        "physician vs physician")
        for c in ("axis", "source", "judge", "pairs", "judge κ", "ceiling κ", "judge bal. F1", "ceiling bal. F1"):
            t.add_column(c, justify="left" if c in ("axis", "source", "judge") else "right",
                         no_wrap=c not in ("axis", "source", "judge"))      # an interval is never cut mid-number
        for r in rows:
            t.add_row(labels.get(r.axis, r.axis) + (" (w)" if r.weighted else ""), r.source, r.judge, str(r.n_pairs),
                      r.kappa.fmt(False), r.ceiling_kappa.fmt(False), r.f1.fmt(False), r.ceiling_f1.fmt(False))
        console.print(t)
    for kind, rows in s.estimates.items():
        t = Table(title=f"{kind}: best-bin share % [95% CI] — physicians only, judge only, prediction-powered")
        for c in ("axis", "source", "judge", "rated/judged", "human-only", "judge-only", "PPI++", "λ", "width ratio"):
            t.add_column(c, justify="left" if c in ("axis", "source", "judge") else "right",
                         no_wrap=c not in ("axis", "source", "judge"))
        for r in rows:
            ratio = f"{r.ppi.width / r.human.width:.2f}" if r.human.width > 0 else "-"
            t.add_row(labels.get(r.axis, r.axis), r.source, r.judge, f"{r.ppi.n_labeled}/{r.ppi.n_judged}",
                      r.human.fmt(), r.judge_only.fmt(), r.ppi.fmt(), f"{r.ppi.lam:.2f}", ratio)
        console.print(t)
    for j, (rho, p) in s.length_rho.items():
        console.print(f"length bias, {j}: Spearman ρ(length, judge − physicians) = {rho:.2f} (p {p:.3f})")
    for j, (src, gap, lo, hi) in s.self_pref.items():
        console.print(f"self-preference, {j} on {src}: {100 * gap:+.1f} points [{100 * lo:.1f}, {100 * hi:.1f}]")
    for name, (share, n) in s.first_position.items():
        console.print(f"pairwise, {name}: chose 'Answer 1' in {100 * share:.1f}% of {n} non-tie choices")


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
    from clinqa.rating.rubric import load_rubric
    try:
        rb = load_rubric(rubric)
        ratings = _ratings_and_lengths(study, rb)[0] if study.is_dir() else read_ratings(study, rb)
        ratings, lengths, plan = judge_inputs(ratings, [study] + list(judge or []), rb, design)
        s = judge_section(ratings, rb, resamples, seed, plan, lengths)
    except (DataError, FileNotFoundError, ValueError) as e:
        _fail(str(e))
    if s is None:
        _fail(f"{study}: needs both human ratings and judge ratings (raters auto:... or jury:...)")
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


from clinqa.analysis import judge_cli_more  # noqa: E402,F401  (registers select, autorate, position, healthbench)
