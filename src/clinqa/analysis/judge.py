"""The judge card: how far an LLM grader agrees with physicians, per rubric axis and answer source, next to how far
physicians agree with each other (the ceiling), with answer-clustered bootstrap 95% intervals.

Judge ratings are the rows whose rater starts with "auto:" (one `clinqa autorate` grader), "jury:" (several) or
"recorded:" (verdicts someone else recorded, imported without running a model: `clinqa.analysis.recorded`).
Pairs are "one rater vs the physicians on the same item": the judge's value paired with every human rating of that
answer and axis; for the ceiling, every human rating paired with every other rater's rating of the same answer and
axis (leave-one-rater-out: a physician is never compared with themself). Pairwise ratings are compared un-blinded
(the chosen source or Tie), so the two answers' sides do not matter.

Statistics, each on the pooled pairs:
- kappa: Cohen's kappa (statsmodels); linearly weighted for ordinal axes (three or more ordered values, except
  `consensus`).
- balanced F1 (HealthBench's meta-eval metric): the mean of the F1 of "best bin" and of "not best bin" (pairwise:
  the mean F1 over the three choices).
- intervals: percentile bootstrap resampling answers (all pairs of one answer move together), 2,000 resamples
  (`clinqa.stats.bootstrap`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from clinqa.analysis.table import Rating, unblind
from clinqa.data.rubric import Axis
from clinqa.stats import Interval, bootstrap, cohen_kappa_tables

JUDGE_PREFIXES = ("auto:", "jury:", "recorded:")
NOMINAL_AXES = {"consensus"}
N_BOOT = 2000


def is_judge(r: Rating) -> bool:
    return r.rater.startswith(JUDGE_PREFIXES)


def split_judge(ratings: list[Rating]) -> tuple[list[Rating], list[Rating]]:
    """(human ratings, judge ratings)."""
    return [r for r in ratings if not is_judge(r)], [r for r in ratings if is_judge(r)]


def ordinal(axis: Axis, kind: str) -> bool:
    return kind != "pairwise" and len(axis.scale) >= 3 and axis.key not in NOMINAL_AXES


@dataclass
class CardRow:
    kind: str
    axis: str
    source: str              # answer source, or "all"
    judge: str
    n_items: int
    n_pairs: int
    weighted: bool
    kappa: Interval
    f1: Interval
    ceiling_kappa: Interval
    ceiling_f1: Interval
    n_ceiling_pairs: int


def _key(r: Rating) -> tuple[str, str, str]:
    """(item, source, value) with pairwise ratings un-blinded."""
    if r.kind == "pairwise":
        item, _, chosen = unblind(r)
        return item, "|".join(sorted((r.source, r.other_source))), chosen
    return r.item, r.source, r.value


def _confusions(pairs: list[tuple[str, str, str]], labels: list[str], items: list[str] | None = None) -> np.ndarray:
    """Per item, the confusion counts (reference rows, rater columns): shape (items, k, k); `items` fixes the rows
    (default: the items in `pairs`, sorted)."""
    idx = {v: i for i, v in enumerate(labels)}
    items = items if items is not None else sorted({p[0] for p in pairs})
    pos = {it: i for i, it in enumerate(items)}
    c = np.zeros((len(items), len(labels), len(labels)))
    for item, ref, val in pairs:
        if ref in idx and val in idx:
            c[pos[item], idx[ref], idx[val]] += 1
    return c


def kappa_from(conf: np.ndarray, weighted: bool) -> np.ndarray:
    """Cohen's kappa of every k x k table in `conf` (shape (..., k, k))."""
    return cohen_kappa_tables(conf, weighted)


def balanced_f1_from(conf: np.ndarray, collapse: bool) -> np.ndarray:
    """Mean per-class F1; with collapse, classes are best bin (index 0) vs the rest."""
    if collapse and conf.shape[-1] > 2:
        tp = conf[..., 0, 0]
        conf = np.stack([np.stack([tp, conf[..., 0, 1:].sum(-1)], -1),
                         np.stack([conf[..., 1:, 0].sum(-1), conf[..., 1:, 1:].sum((-2, -1))], -1)], -2)
    diag = np.diagonal(conf, axis1=-2, axis2=-1)
    denom = conf.sum(-1) + conf.sum(-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(denom > 0, 2 * diag / denom, np.nan)
    return np.nanmean(f1, axis=-1) if f1.size else f1


def confusion_interval(conf_items: np.ndarray, stat, n_boot: int = N_BOOT, seed: int = 0, level: float = 0.95) -> Interval:
    """Point estimate and percentile interval of stat(confusion), resampling items (their pairs move together)."""
    if conf_items.shape[0] == 0 or conf_items.sum() == 0:
        return Interval(float("nan"), float("nan"), float("nan"))
    return bootstrap(lambda c: stat(c.sum(1)), conf_items, n_boot=n_boot, level=level, seed=seed)


def _labels(axis: Axis, kind: str, sources: list[str]) -> list[str]:
    return sorted(set(sources)) + ["Tie"] if kind == "pairwise" else list(axis.scale)


def judge_card(ratings: list[Rating], axes: tuple[Axis, ...], kind: str, n_boot: int = N_BOOT,
               seed: int = 0) -> list[CardRow]:
    """One row per (judge, axis, source) and per (judge, axis, "all") for the judges and humans in `ratings`."""
    human, judges = split_judge([r for r in ratings if r.kind == kind])
    by_item = defaultdict(list)                          # (axis, item) -> [(rater, source, value)]
    for r in human:
        item, src, val = _key(r)
        by_item[(r.axis, item)].append((r.rater, src, val))
    judged = defaultdict(dict)                           # judge -> (axis, item) -> (source, value)
    for r in judges:
        item, src, val = _key(r)
        judged[r.rater][(r.axis, item)] = (src, val)
    rows = []
    for judge in sorted(judged):
        for axis in axes:
            sources = sorted({s for (ax, _), hs in by_item.items() if ax == axis.key for _, s, _ in hs})
            labels = _labels(axis, kind, [x for s in sources for x in s.split("|")])
            for source in sources + (["all"] if len(sources) > 1 else []):
                jp, cp = [], []
                for (ax, item), hs in by_item.items():
                    if ax != axis.key or (source != "all" and hs[0][1] != source):
                        continue
                    j = judged[judge].get((ax, item))
                    jp += [(item, v, j[1]) for _, _, v in hs] if j else []
                    cp += [(item, v, w) for r1, _, v in hs for r2, _, w in hs if r1 != r2]
                if not jp:
                    continue
                wtd = ordinal(axis, kind)
                cj, cc = _confusions(jp, labels), _confusions(cp, labels)
                kap = lambda c: kappa_from(c, wtd)                      # noqa: E731
                f1 = lambda c: balanced_f1_from(c, kind != "pairwise")  # noqa: E731
                rows.append(CardRow(kind, axis.key, source, judge, cj.shape[0], len(jp), wtd,
                                    confusion_interval(cj, kap, n_boot, seed), confusion_interval(cj, f1, n_boot, seed),
                                    confusion_interval(cc, kap, n_boot, seed), confusion_interval(cc, f1, n_boot, seed), len(cp)))
    return rows
