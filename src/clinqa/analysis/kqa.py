"""K-QA's statistics, pure (no model calls): the benchmark's two metrics from NLI verdicts, and the NLI judge's card
against the physicians' labels. The verdicts come from the eval core's NLI scorer (`clinqa.eval.nli`), one run's
stored scores at a time (`run_verdicts`).

Metrics, per answer source, from one verdict per (answer, statement); unjudged statements (a reply that never parsed)
are left out and counted:
- comprehensiveness: per answer, the share of its must-have statements the answer entails; averaged over answers
  (K-QA's definition);
- hallucination rate: the share of all statements (must-have and nice-to-have) the answers contradict.
Both with percentile bootstrap intervals resampling answers (`clinqa.analysis.resampling.cluster_bootstrap`).

The NLI judge card: on the physician-labelled pairs, the judge's Cohen's κ against each physician and pooled, beside
the physicians' leave-one-physician-out ceiling (each against the other two), the macro (balanced) F1 and the F1 of
each label, and the confusion matrix against the physicians' majority label (rows) — a judge that calls
contradictions neutral is the dangerous one. Intervals: bootstrap resampling answers (all statements of one answer
together), with the judge card's helpers (`clinqa.analysis.judge`); per-label F1 and the confusion matrix with
scikit-learn.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score

from clinqa.analysis.judge import N_BOOT, _confusions, balanced_f1_from, confusion_interval, kappa_from
from clinqa.analysis.resampling import cluster_bootstrap
from clinqa.data.loaders.kqa import LABELS, LabelledPair
from clinqa.eval.nli import NAME, statement_counts
from clinqa.stats import Interval


@dataclass
class KQAScore:
    source: str
    n_answers: int
    comprehensiveness: Interval
    hallucination: Interval
    n_statements: int            # judged statements
    n_unjudged: int


def answer_counts(verdicts: list[tuple[str, str, str | None]]) -> tuple[dict[str, list[int]], int]:
    """From (answer id, category, label or None): {answer: [must-have entailed, must-have judged, contradicted,
    judged]} for the answers with a judged statement, and the number of unjudged statements."""
    by_answer = defaultdict(list)
    for answer, category, label in verdicts:
        by_answer[answer].append((category, label))
    counted = {a: statement_counts(v) for a, v in by_answer.items()}
    return ({a: c for a, (c, _) in counted.items() if c[3]}, sum(u for _, u in counted.values()))


def run_verdicts(rows: list[dict], source: str = "") -> list[tuple[str, str, str, str | None]]:
    """(source, answer id, category, label) of every statement the NLI scorer judged in a run's stored results."""
    return [(source, r["qid"], v["category"], v["label"]) for r in rows
            for v in (r.get("score") or {}).get(NAME, {}).get("metadata", {}).get("verdicts", [])]


def kqa_metrics(verdicts: list[tuple[str, str, str | None]], source: str = "", n_boot: int = 10_000,
                seed: int = 0) -> KQAScore:
    counts, unjudged = answer_counts(verdicts)
    c = np.array(list(counts.values()), float).reshape(-1, 4)
    has_must = c[:, 1] > 0
    comp = cluster_bootstrap(c[has_must, 0] / c[has_must, 1], np.ones(int(has_must.sum())), n_boot, seed=seed)
    hall = cluster_bootstrap(c[:, 2], c[:, 3], n_boot, seed=seed)
    return KQAScore(source, len(counts), comp, hall, int(c[:, 3].sum()), unjudged)


def kqa_scores(verdicts: list[tuple[str, str, str, str | None]], n_boot: int = 10_000,
               seed: int = 0) -> list[KQAScore]:
    """One KQAScore per source from (source, answer id, category, label or None)."""
    by_source = defaultdict(list)
    for source, answer, category, label in verdicts:
        by_source[source].append((answer, category, label))
    return [kqa_metrics(v, s, n_boot, seed) for s, v in sorted(by_source.items())]


@dataclass
class NLICard:
    n_pairs: int
    n_judged: int
    kappa: Interval                               # judge vs every physician, pooled
    ceiling_kappa: Interval                       # every physician vs every other, pooled
    balanced_f1: Interval
    ceiling_balanced_f1: Interval
    label_f1: dict[str, float]                    # judge vs physicians (pooled), per label
    ceiling_label_f1: dict[str, float]
    per_physician: list[tuple[str, Interval, Interval]]   # (physician, judge κ, ceiling κ) against that physician
    confusion: np.ndarray                         # majority label (rows) x judge label (columns), LABELS order
    unjudged_by_majority: dict[str, int]


def nli_card(pairs: list[LabelledPair], verdicts: list[str | None], n_boot: int = N_BOOT, seed: int = 0) -> NLICard:
    """The judge's `verdicts` (one per pair, None where unparsed) against the physicians' labels of `pairs`."""
    if len(pairs) != len(verdicts):
        raise ValueError(f"one verdict per pair: {len(pairs)} pairs, {len(verdicts)} verdicts")
    labels = list(LABELS)
    n_phys = max(len(p.labels) for p in pairs)
    jp, cp = defaultdict(list), defaultdict(list)         # physician index -> (answer, reference, compared)
    for p, v in zip(pairs, verdicts):
        for k, ref in enumerate(p.labels):
            if v is not None:
                jp[k].append((p.answer_id, ref, v))
            cp[k] += [(p.answer_id, ref, other) for m, other in enumerate(p.labels) if m != k]
    all_j = [x for k in sorted(jp) for x in jp[k]]
    all_c = [x for k in sorted(cp) for x in cp[k]]
    cj, cc = _confusions(all_j, labels), _confusions(all_c, labels)

    def kap(c):
        return kappa_from(c, False)

    def f1(c):
        return balanced_f1_from(c, False)

    def per_label(trip):
        got = f1_score([r for _, r, _ in trip], [x for _, _, x in trip], labels=labels, average=None,
                       zero_division=np.nan)         # nan: a label neither side used
        return dict(zip(labels, map(float, got)))
    per = [(f"physician_{k}", confusion_interval(_confusions(jp[k], labels), kap, n_boot, seed),
            confusion_interval(_confusions(cp[k], labels), kap, n_boot, seed)) for k in range(n_phys)]
    judged = [(p.majority, v) for p, v in zip(pairs, verdicts) if v is not None]
    conf = confusion_matrix([m for m, _ in judged], [v for _, v in judged], labels=labels) if judged else \
        np.zeros((3, 3), int)
    unjudged = {lab: sum(p.majority == lab and v is None for p, v in zip(pairs, verdicts)) for lab in labels}
    return NLICard(len(pairs), len(judged), confusion_interval(cj, kap, n_boot, seed),
                   confusion_interval(cc, kap, n_boot, seed),
                   confusion_interval(cj, f1, n_boot, seed), confusion_interval(cc, f1, n_boot, seed),
                   per_label(all_j) if all_j else {}, per_label(all_c), per, conf, unjudged)
