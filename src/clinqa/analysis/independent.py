"""Independent ratings (physician and lay): per axis and answer source, the share of ratings in the best bin (the
paper's metric) with an answer-clustered bootstrap interval and the full distribution over the scale; then every pair
of sources compared per axis with the answer-blocked permutation test, corrected across axes (Bonferroni and Holm)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import combinations

from statsmodels.stats.multitest import multipletests

from clinqa.analysis.resampling import N_RESAMPLES, cluster_bootstrap, permutation_test
from clinqa.analysis.table import Rating
from clinqa.rating.rubric import Axis
from clinqa.stats import Interval


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
