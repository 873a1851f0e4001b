"""Independent ratings (physician and lay): per axis and answer source, the share of ratings in the best bin (the
paper's metric) with an answer-clustered bootstrap interval and the full distribution over the scale; then every pair
of sources compared per axis with the answer-blocked permutation test, corrected across axes (Bonferroni and Holm);
and, given a margin, non-inferiority tests of each source against a reference (model vs physician answers):
H0 share(test) - share(reference) <= -margin, one-sided, by the clustered (question- or answer-level) bootstrap, with
Holm across axes."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from statsmodels.stats.multitest import multipletests

from clinqa.analysis.judge import is_judge
from clinqa.analysis.resampling import N_RESAMPLES, cluster_bootstrap, permutation_test
from clinqa.analysis.table import Rating
from clinqa.data.rubric import Axis
from clinqa.stats import Interval, bootstrap_replicates


@dataclass
class AxisSource:
    kind: str
    axis: str
    source: str
    n_answers: int
    n_ratings: int
    best: Interval                    # share in the best bin, bootstrap clustered by answer
    distribution: dict[str, float]    # share of ratings in every bin of the scale


@dataclass
class SourceComparison:
    kind: str
    axis: str
    source_a: str
    source_b: str
    difference: float                 # best-bin share A - B
    paired: bool
    n_questions: int
    p_value: float
    p_bonferroni: float
    p_holm: float


def _counts(ratings: list[Rating], axis: Axis) -> dict[str, dict[str, tuple[str, int, int]]]:
    """source -> answer item -> (qid, ratings in best bin, ratings)."""
    per: dict = defaultdict(lambda: defaultdict(lambda: [None, 0, 0]))
    for r in ratings:
        if r.axis != axis.key:
            continue
        c = per[r.source][r.item]
        c[0] = r.qid
        c[1] += r.value == axis.best
        c[2] += 1
    return {s: {i: tuple(v) for i, v in items.items()} for s, items in per.items()}


def _check_values(ratings: list[Rating], axes: tuple[Axis, ...], kind: str) -> None:
    scales = {a.key: a.scale for a in axes}
    for r in ratings:
        if r.axis in scales and r.value not in scales[r.axis]:
            raise ValueError(f"{kind} rating by {r.rater} of {r.item}: axis {r.axis!r} has no value {r.value!r}; "
                             f"the rubric allows {list(scales[r.axis])}")


def summarize(ratings: list[Rating], axes: tuple[Axis, ...], kind: str, n_boot: int = N_RESAMPLES, seed: int = 0,
              one_per_answer: bool = False) -> list[AxisSource]:
    ratings = [r for r in ratings if r.kind == kind]
    _check_values(ratings, axes, kind)
    out = []
    for axis in axes:
        for source, items in sorted(_counts(ratings, axis).items()):
            best = [b for _, b, _ in items.values()]
            total = [t for _, _, t in items.values()]
            dist = Counter(r.value for r in ratings if r.axis == axis.key and r.source == source)
            n = sum(total)
            out.append(AxisSource(kind, axis.key, source, len(items), n,
                                  cluster_bootstrap(best, total, n_boot, seed=seed, one_per_answer=one_per_answer),
                                  {v: dist[v] / n for v in axis.scale}))
    return out


def compare_sources(ratings: list[Rating], axes: tuple[Axis, ...], kind: str, n_perm: int = N_RESAMPLES,
                    seed: int = 0, one_per_answer: bool = False) -> list[SourceComparison]:
    """Every pair of sources on every axis; paired by question when the two sources answered the same questions."""
    ratings = [r for r in ratings if r.kind == kind]
    per_axis = {a.key: _counts(ratings, a) for a in axes}
    sources = sorted({s for c in per_axis.values() for s in c})
    out = []
    for sa, sb in combinations(sources, 2):
        rows = []
        for axis in axes:
            ca, cb = per_axis[axis.key].get(sa, {}), per_axis[axis.key].get(sb, {})
            if not ca or not cb:
                continue
            qa = {q: (b, t) for q, b, t in ca.values()}
            qb = {q: (b, t) for q, b, t in cb.values()}
            paired = set(qa) == set(qb) and len(qa) == len(ca) and len(qb) == len(cb)
            if paired:
                qs = sorted(qa)
                a_vals, b_vals = [qa[q] for q in qs], [qb[q] for q in qs]
            else:
                a_vals, b_vals = [(b, t) for _, b, t in ca.values()], [(b, t) for _, b, t in cb.values()]
            res = permutation_test([b for b, _ in a_vals], [t for _, t in a_vals], [b for b, _ in b_vals],
                                   [t for _, t in b_vals], paired=paired, n_perm=n_perm, seed=seed,
                                   one_per_answer=one_per_answer)
            rows.append((axis.key, res, len(a_vals) if paired else len(a_vals) + len(b_vals)))
        if not rows:
            continue
        pvals = [r.p_value for _, r, _ in rows]
        bonf = multipletests(pvals, method="bonferroni")[1]
        holm = multipletests(pvals, method="holm")[1]
        for (axis, res, n), pb, ph in zip(rows, bonf, holm):
            out.append(SourceComparison(kind, axis, sa, sb, res.difference, res.paired, n, res.p_value, float(pb),
                                        float(ph)))
    return out


@dataclass
class NonInferiority:
    kind: str
    axis: str
    source: str                       # the source tested (e.g. model)
    reference: str                    # against this one (e.g. physician)
    difference: float                 # best-bin share source - reference
    lower: float                      # one-sided (1 - alpha) lower confidence bound of the difference
    margin: float
    paired: bool
    n_questions: int
    p_value: float                    # H0: difference <= -margin
    p_holm: float
    non_inferior: bool                # p_holm < alpha


def _share_of(x: np.ndarray) -> np.ndarray:
    """Best-bin share of every resample of (best, total) rows."""
    return x[..., 0].sum(-1) / x[..., 1].sum(-1)


def _mean_share_of(x: np.ndarray) -> np.ndarray:
    """Mean per-answer best-bin share of every resample of (best, total) rows (one rating per answer)."""
    return (x[..., 0] / x[..., 1]).mean(-1)


def _boot_difference(a_vals, b_vals, paired: bool, n_boot: int, seed: int, one_per_answer: bool) -> np.ndarray:
    """Bootstrap differences of best-bin shares, resampling questions (paired) or each source's answers."""
    stat = _mean_share_of if one_per_answer else _share_of
    return bootstrap_replicates(lambda a, b: stat(a) - stat(b), np.asarray(a_vals, float), np.asarray(b_vals, float),
                                paired=paired, n_boot=n_boot, seed=seed)


def noninferiority(ratings: list[Rating], axes: tuple[Axis, ...], kind: str, reference: str, margin: float,
                   n_boot: int = N_RESAMPLES, seed: int = 0, one_per_answer: bool = False,
                   alpha: float = 0.05) -> list[NonInferiority]:
    """Every other source against `reference` on every axis: is it no worse than `margin` (a share, e.g. 0.05)?
    p = (1 + #{d* - d >= d + margin}) / (B + 1) over the clustered bootstrap (basic bootstrap, so p < alpha exactly
    when the lower bound is above -margin); Holm across the axes of each source."""
    if not 0 < margin < 1:
        raise ValueError(f"margin must be a share between 0 and 1 (e.g. 0.05), not {margin}")
    ratings = [r for r in ratings if r.kind == kind]
    per_axis = {a.key: _counts(ratings, a) for a in axes}
    sources = sorted({s for c in per_axis.values() for s in c})
    if reference not in sources:
        if not ratings:
            return []
        raise ValueError(f"reference source {reference!r} has no {kind} ratings; sources: {', '.join(sources)}")
    out = []
    for src in [s for s in sources if s != reference]:
        rows = []
        for axis in axes:
            ca, cb = per_axis[axis.key].get(src, {}), per_axis[axis.key].get(reference, {})
            if not ca or not cb:
                continue
            qa = {q: (b, t) for q, b, t in ca.values()}
            qb = {q: (b, t) for q, b, t in cb.values()}
            paired = set(qa) == set(qb) and len(qa) == len(ca) and len(qb) == len(cb)
            qs = sorted(qa)
            a_vals = [qa[q] for q in qs] if paired else [(b, t) for _, b, t in ca.values()]
            b_vals = [qb[q] for q in qs] if paired else [(b, t) for _, b, t in cb.values()]
            share_a = [b / t for b, t in a_vals] if one_per_answer else None
            share_b = [b / t for b, t in b_vals] if one_per_answer else None
            d = (float(np.mean(share_a) - np.mean(share_b)) if one_per_answer else
                 sum(b for b, _ in a_vals) / sum(t for _, t in a_vals)
                 - sum(b for b, _ in b_vals) / sum(t for _, t in b_vals))
            boot = _boot_difference(a_vals, b_vals, paired, n_boot, seed, one_per_answer) - d
            p = float((1 + np.sum(boot >= d + margin - 1e-12)) / (n_boot + 1))
            lower = d - float(np.quantile(boot, 1 - alpha))
            rows.append((axis.key, d, lower, paired, len(a_vals) if paired else len(a_vals) + len(b_vals), p))
        if not rows:
            continue
        holm = multipletests([r[-1] for r in rows], method="holm")[1]
        for (axis, d, lower, paired, n, p), ph in zip(rows, holm):
            out.append(NonInferiority(kind, axis, src, reference, d, lower, margin, paired, n, p, float(ph),
                                      bool(ph < alpha)))
    return out


def noninferiority_all(ratings: list[Rating], rubric, reference: str, margin: float, n_boot: int = N_RESAMPLES,
                       seed: int = 0, one_per_answer: bool = False) -> list[NonInferiority]:
    """Non-inferiority for the physician and lay axes (human ratings only: judges auto:/jury:/recorded: are left out)."""
    human = [r for r in ratings if not is_judge(r)]
    return [x for kind in ("physician", "lay") if any(r.kind == kind for r in human)
            for x in noninferiority(human, rubric.axes(kind), kind, reference, margin, n_boot, seed, one_per_answer)]
