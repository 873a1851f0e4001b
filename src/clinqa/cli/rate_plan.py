"""`clinqa rate plan`: the minimum detectable difference per axis at a target power (or, with --target, the questions
needed) for a planned rating study, by simulation with the analysis's own permutation test (see power.py). Registered
on the `rate` command group in `clinqa.cli.rate`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from clinqa.cli.terminal import stdout_console

console = stdout_console()      # logs and pipes get whole tables


def baselines_for(kind: str, rubric, baseline: Optional[str], pilot: Optional[Path], reference: Optional[str]):
    """axis key -> baseline best-bin share: one number for every axis, axis=share pairs, a pilot study's shares (of
    the reference source), or the simulation defaults (illustrative only)."""
    from clinqa.analysis.simulate import DEFAULT_BEST, TRUTH
    axes = rubric.axes(kind)
    out = {a.key: TRUTH["physician"].get(a.key, DEFAULT_BEST) for a in axes}
    if pilot:
        from clinqa.analysis.table import read_ratings
        rows = [r for r in read_ratings(pilot, rubric) if r.kind == kind and (not reference or r.source == reference)]
        if not rows:
            raise ValueError(f"pilot: no {kind} ratings{' of ' + reference if reference else ''} in {pilot}")
        for a in axes:
            vals = [r.value for r in rows if r.axis == a.key]
            if vals:
                out[a.key] = min(max(sum(v == a.best for v in vals) / len(vals), 0.01), 0.99)
    if baseline:
        parts = [p.strip() for p in baseline.split(",") if p.strip()]
        try:
            if len(parts) == 1 and "=" not in parts[0]:
                out = {k: float(parts[0]) for k in out}
            else:
                for p in parts:
                    k, v = p.split("=")
                    if k.strip() not in out:
                        raise ValueError(f"baseline: no {kind} axis {k.strip()!r}")
                    out[k.strip()] = float(v)
        except ValueError as e:
            raise ValueError(str(e) if str(e).startswith("baseline") else
                             f"baseline: a share like 0.8 or axis=share pairs, not {baseline!r}") from None
    bad = {k: v for k, v in out.items() if not 0 < v < 1}
    if bad:
        raise ValueError(f"baseline: shares must be strictly between 0 and 1: {bad}")
    return out


def plan(questions: int = typer.Option(140, help="questions, each answered by both sources"),
         raters: int = typer.Option(3, help="ratings per answer"),
         kind: str = typer.Option("physician", help="physician or lay axes"),
         baseline: Optional[str] = typer.Option(None, help="best-bin share of the reference source: 0.8 for every "
                                                "axis, or axis=share,...  (default: illustrative values)"),
         pilot: Optional[Path] = typer.Option(None, help="a pilot study's ratings: baselines from its shares"),
         reference: Optional[str] = typer.Option(None, help="the pilot's reference source (e.g. physician)"),
         icc: float = typer.Option(0.14, help="correlation of two ratings of one answer (clustering)"),
         unpaired: bool = typer.Option(False, help="the sources answered different questions"),
         one_per_answer: bool = typer.Option(False, help="the analysis will use --one-per-answer"),
         alpha: float = typer.Option(0.05, help="per-axis level (alpha / axes for a Holm-safe plan)"),
         target_power: float = typer.Option(0.8, "--power", help="target power"),
         target: Optional[float] = typer.Option(None, help="a difference (e.g. 0.05): print the questions needed"),
         sims: int = typer.Option(1000, help="simulated studies per power estimate"),
         permutations: int = typer.Option(200, help="permutations per simulated study"),
         seed: int = typer.Option(0)):
    """Minimum detectable difference per axis at 80% power, or the questions needed for a target difference."""
    from clinqa.analysis.power import Design, mde, questions_needed
    from clinqa.data.rubric import load_rubric
    rb = load_rubric()
    try:
        if kind not in ("physician", "lay"):
            raise ValueError(f"kind: physician or lay, not {kind!r}")
        if not 0 < target_power < 1 or sims < 50:
            raise ValueError("power must be in (0, 1) and sims at least 50")
        design = Design(questions, raters, icc, not unpaired, one_per_answer, alpha, permutations)
        design.check()
        base = baselines_for(kind, rb, baseline, pilot, reference)
    except ValueError as e:
        console.print(f"[red]error:[/] {e}")
        raise typer.Exit(2)
    labels = {a.key: a.label for a in rb.axes(kind)}
    results = {}
    what = f"questions for a {100 * target:.1f}-point difference" if target else "MDE"
    with console.status(f"simulating {sims} studies per step ..."):
        for b in sorted(set(base.values())):
            results[b] = (questions_needed(design, b, target, target_power, sims, seed) if target
                          else mde(design, b, target_power, sims, seed))
    t = Table(title=f"{kind} axes: {what} at {100 * target_power:.0f}% power, alpha {alpha} "
              f"({'paired' if design.paired else 'unpaired'}, {questions} questions x {raters} ratings, icc {icc})")
    t.add_column("axis")
    t.add_column("baseline %", justify="right")
    t.add_column("questions needed" if target else "MDE (points)", justify="right")
    for k, b in base.items():
        r = results[b]
        cell = (str(r) if r else "> 5000") if target else ("not reachable" if r != r else f"{100 * r:.1f}")
        t.add_row(labels[k], f"{100 * b:.1f}", cell)
    console.print(t)
    console.print("Differences are taken away from the ceiling; power by simulation with the analysis's permutation "
                  f"test ({permutations} permutations per study, {sims} studies per estimate, seed {seed}).")
