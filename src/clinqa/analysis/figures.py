"""Figures like the paper's: horizontal bars per axis with 95% interval whiskers for each source (independent ratings),
stacked preference bars per axis (pairwise). Each figure is returned as PNG and SVG bytes."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from clinqa.analysis.independent import AxisSource  # noqa: E402
from clinqa.analysis.pairwise import Preference  # noqa: E402
from clinqa.data.rubric import Axis  # noqa: E402

COLORS = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860"]


def to_bytes(fig) -> tuple[bytes, bytes]:
    bufs = []
    for fmt in ("png", "svg"):
        b = io.BytesIO()
        fig.savefig(b, format=fmt, dpi=130, bbox_inches="tight")
        bufs.append(b.getvalue())
    plt.close(fig)
    return bufs[0], bufs[1]


def independent_figure(rows: list[AxisSource], axes: tuple[Axis, ...], kind: str) -> tuple[bytes, bytes]:
    sources = sorted({r.source for r in rows})
    keys = [a for a in axes if any(r.axis == a.key for r in rows)]
    by = {(r.axis, r.source): r for r in rows}
    h = 0.8 / max(len(sources), 1)
    fig, ax = plt.subplots(figsize=(8, max(2.4, 0.8 + 0.45 * len(keys) * max(1, len(sources) / 2))))
    for s_i, s in enumerate(sources):
        ys, xs, lo, hi = [], [], [], []
        for a_i, a in enumerate(keys):
            r = by.get((a.key, s))
            if r is None:
                continue
            ys.append(a_i + (s_i - (len(sources) - 1) / 2) * h)
            xs.append(100 * r.best.estimate)
            lo.append(100 * (r.best.estimate - r.best.low))
            hi.append(100 * (r.best.high - r.best.estimate))
        ax.barh(ys, xs, height=h * 0.9, xerr=[lo, hi], capsize=3, color=COLORS[s_i % len(COLORS)], label=s,
                error_kw={"elinewidth": 1})
    ax.set_yticks(range(len(keys)), [f"{a.label}\n({a.best})" for a in keys], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("ratings in the best bin (%), 95% bootstrap interval clustered by answer")
    ax.set_title(f"{kind.capitalize()} ratings by axis", loc="left")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=len(sources), fontsize=8, frameon=False)
    return to_bytes(fig)


def pairwise_figure(prefs: list[Preference], axes: tuple[Axis, ...]) -> tuple[bytes, bytes]:
    label = {a.key: a.label for a in axes}
    fig, ax = plt.subplots(figsize=(8, 0.6 + 0.45 * len(prefs)))
    for i, p in enumerate(prefs):
        left = 0.0
        for part, iv, color in ((p.source_a, p.chose_a, COLORS[0]), ("tie", p.tie, "#BBBBBB"),
                                (p.source_b, p.chose_b, COLORS[1])):
            w = 100 * iv.estimate
            ax.barh(i, w, left=left, color=color, height=0.7, label=part if i == 0 else None)
            if w >= 6:
                ax.text(left + w / 2, i, f"{w:.0f}", ha="center", va="center", fontsize=7, color="white")
            left += w
        ax.errorbar(100 * p.chose_a.estimate, i, xerr=[[100 * (p.chose_a.estimate - p.chose_a.low)],
                                                      [100 * (p.chose_a.high - p.chose_a.estimate)]],
                    color="black", capsize=3, lw=1)
    ax.set_yticks(range(len(prefs)), [f"{label.get(p.axis, p.axis)}" + ("" if len({(q.source_a, q.source_b) for q in prefs}) == 1
                                      else f"\n{p.source_a} vs {p.source_b}") for p in prefs], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of ratings (%); whisker: 95% binomial interval of the first source's share")
    ax.set_title("Pairwise ranking")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, fontsize=8, frameon=False)
    return to_bytes(fig)
