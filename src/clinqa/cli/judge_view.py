"""The judge card as the terminal shows it, shared by `clinqa judge card` and `clinqa rate analyze`: reading the
ratings (and answer lengths) a card needs, and printing its rows."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from clinqa.cli.common import console


def _ratings_and_lengths(path: Path, rubric):
    from clinqa.analysis.table import ratings_from_store, read_ratings
    if path.is_dir():
        from clinqa.eval.store import Store
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
