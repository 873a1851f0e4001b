"""The judge's part of `clinqa rate analyze` and `clinqa judge card`: for a study with judge ("auto:..." / "jury:...")
and human ratings, the judge card (`clinqa.analysis.judge`), the bias probes (`clinqa.analysis.judge_probes`) and the
prediction-powered best-bin shares (`clinqa.analysis.judged`), as figures, an HTML section and numbers.csv rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from jinja2 import Environment, select_autoescape  # noqa: E402

from clinqa.analysis.figures import COLORS, to_bytes  # noqa: E402
from clinqa.analysis.judge import N_BOOT, CardRow, judge_card, split_judge  # noqa: E402
from clinqa.analysis.judge_probes import first_position_share, length_bias, self_preference  # noqa: E402
from clinqa.analysis.judged import JudgedRow, judged_estimates  # noqa: E402
from clinqa.analysis.table import Rating  # noqa: E402
from clinqa.data.rubric import Rubric  # noqa: E402

KINDS = ("physician", "lay", "pairwise")


@dataclass
class JudgeSection:
    judges: list[str]
    card: dict[str, list[CardRow]]                       # kind -> rows
    estimates: dict[str, list[JudgedRow]]                # kind -> rows (physician, lay)
    length_bins: list = field(default_factory=list)
    length_rho: dict = field(default_factory=dict)
    self_pref: dict = field(default_factory=dict)
    first_position: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)


def judge_section(ratings: list[Rating], rubric: Rubric, n_boot: int = N_BOOT, seed: int = 0, design=None,
                  lengths: dict[str, int] | None = None, own: dict[str, str] | None = None) -> JudgeSection | None:
    """None when the ratings lack either judge or human ratings."""
    human, judges = split_judge(ratings)
    if not human or not judges:
        return None
    kinds = [k for k in KINDS if any(r.kind == k for r in judges) and any(r.kind == k for r in human)]
    card = {k: judge_card(ratings, rubric.axes(k), k, n_boot, seed) for k in kinds}
    est = {k: judged_estimates(ratings, rubric.axes(k), k, design) for k in kinds if k != "pairwise"}
    s = JudgeSection(sorted({r.rater for r in judges}), card, est,
                     settings={"resamples": n_boot, "seed": seed, "design": design is not None})
    if lengths and "physician" in kinds:
        s.length_bins, s.length_rho = length_bias(ratings, lengths, rubric.axes("physician"), "physician")
    if "physician" in kinds:
        s.self_pref = self_preference(ratings, rubric.axes("physician"), "physician", own)
    if "pairwise" in kinds:
        s.first_position = first_position_share(ratings)
    return s


def card_figure(rows: list[CardRow], labels: dict, kind: str) -> tuple[bytes, bytes]:
    """Per axis (all sources pooled): judge kappa per judge and the physicians' ceiling, with 95% intervals."""
    sources = {r.source for r in rows}
    rows = [r for r in rows if r.source == "all" or len(sources) == 1]
    axes = list(dict.fromkeys(r.axis for r in rows))
    judges = sorted({r.judge for r in rows})
    fig, ax = plt.subplots(figsize=(8, 0.9 + 0.38 * len(axes)))
    h = 0.7 / (len(judges) + 1)
    for gi, (name, pick) in enumerate([("physicians (ceiling)", None)] + [(j, j) for j in judges]):
        ys, xs, lo, hi = [], [], [], []
        for ai, a in enumerate(axes):
            r = next(x for x in rows if x.axis == a and (pick is None or x.judge == pick))
            iv = r.ceiling_kappa if pick is None else r.kappa
            if iv.estimate == iv.estimate:
                ys.append(ai + (gi - len(judges) / 2) * h)
                xs.append(iv.estimate)
                lo.append(max(iv.estimate - iv.low, 0) if iv.low == iv.low else 0)
                hi.append(max(iv.high - iv.estimate, 0) if iv.high == iv.high else 0)
        ax.errorbar(xs, ys, xerr=[lo, hi], fmt="o", ms=4, capsize=2, lw=1, label=name,
                    color="#888888" if pick is None else COLORS[(gi - 1) % len(COLORS)])
    ax.axvline(0, color="black", lw=0.6)
    ax.set_yticks(range(len(axes)), [labels.get(a, a) for a in axes], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(-0.5, 1)
    ax.set_xlabel("agreement with physicians: Cohen's κ (weighted for ordinal axes), 95% bootstrap by answer")
    ax.set_title(f"Judge card: {kind} axes", loc="left")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=len(judges) + 1, fontsize=8, frameon=False)
    return to_bytes(fig)


def judge_figures(s: JudgeSection, labels: dict) -> dict[str, tuple[bytes, bytes]]:
    return {f"judge_{k}": card_figure(rows, labels, k) for k, rows in s.card.items() if rows}


def judge_html(s: JudgeSection, labels: dict, figures_b64: dict[str, str]) -> str:
    env = Environment(autoescape=select_autoescape(["html"]))
    tpl = env.from_string((resources.files("clinqa") / "resources" / "templates" / "judge.html").read_text())
    return tpl.render(s=s, labels=labels, figures=figures_b64)


def judge_number_rows(s: JudgeSection) -> list[dict]:
    rows = []

    def add(section, kind, axis, source, other, statistic, iv, n=None):
        rows.append(dict(section=section, kind=kind, axis=axis, source=source, other=other, statistic=statistic,
                         value=iv.estimate, low=iv.low, high=iv.high, n=n))
    for kind, card in s.card.items():
        for r in card:
            kap = "weighted_kappa" if r.weighted else "kappa"
            add("judge_card", kind, r.axis, r.source, r.judge, kap, r.kappa, r.n_pairs)
            add("judge_card", kind, r.axis, r.source, r.judge, "balanced_f1", r.f1, r.n_pairs)
            add("judge_card", kind, r.axis, r.source, "physicians", "ceiling_" + kap, r.ceiling_kappa,
                r.n_ceiling_pairs)
            add("judge_card", kind, r.axis, r.source, "physicians", "ceiling_balanced_f1", r.ceiling_f1,
                r.n_ceiling_pairs)
    for kind, est in s.estimates.items():
        for r in est:
            for e in (r.human, r.judge_only, r.ppi):
                add("judged_estimate", kind, r.axis, r.source, r.judge, f"best_bin_share:{e.method}", e,
                    e.n_labeled or e.n_judged)
    return rows
