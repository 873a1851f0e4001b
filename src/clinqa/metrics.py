"""Metrics of a finished (or partial) run, computed from the results store: accuracy with Clopper-Pearson and bootstrap
intervals per dataset and per MMLU subject, share of unparseable answers, tokens generated; and run-vs-run comparison."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from clinqa.stats import Interval, PairedComparison, bootstrap_mean, clopper_pearson, paired_compare
from clinqa.eval.store import Store


@dataclass
class GroupMetrics:
    group: str
    n: int
    correct: int
    accuracy: Interval            # Clopper-Pearson
    bootstrap: Interval
    no_answer: float              # share of questions whose final answer was "no answer"
    unparsed_samples: float       # share of individual samples that could not be parsed
    tokens: int
    seconds: float


def group_metrics(name: str, rows: list[dict]) -> GroupMetrics:
    k = sum(1 for r in rows if r["correct"])
    n = len(rows)
    samples = sum(r["n_samples"] or 0 for r in rows)
    return GroupMetrics(name, n, k, clopper_pearson(k, n), bootstrap_mean([1.0 if r["correct"] else 0.0 for r in rows]),
                        sum(1 for r in rows if r["prediction"] is None) / n if n else 0.0,
                        sum(r["n_unparsed"] or 0 for r in rows) / samples if samples else 0.0,
                        sum(r["tokens"] or 0 for r in rows), sum(r["seconds"] or 0 for r in rows))


def run_metrics(rows: list[dict], group_by: str | None = None) -> list[GroupMetrics]:
    """Overall first, then per source dataset when a task mixes several (the MMLU group: one per subject), then per
    value of the result field `group_by` when the task names one (`Task.group_by`)."""
    out = [group_metrics("all", rows)]
    by_ds, by_field = defaultdict(list), defaultdict(list)
    for r in rows:
        by_ds[r["dataset"]].append(r)
        if group_by and r.get(group_by):
            by_field[r[group_by]].append(r)
    if len(by_ds) > 1:
        out += [group_metrics(d, rs) for d, rs in sorted(by_ds.items())]
    if len(by_field) > 1:
        out += [group_metrics(f"{group_by}:{v}", rs) for v, rs in sorted(by_field.items())]
    return out


def letter_distribution(rows: list[dict]) -> dict[str, tuple[float, float]]:
    """letter -> (share of predictions, share of gold answers), with "none" for no answer: an extraction or position
    bias (every CoT summary read as "A") shows as predictions far from the gold shares."""
    n = len(rows) or 1
    letters = sorted({r["gold"] for r in rows} | {r["prediction"] for r in rows if r["prediction"]})
    out = {L: (sum(r["prediction"] == L for r in rows) / n, sum(r["gold"] == L for r in rows) / n) for L in letters}
    out["none"] = (sum(r["prediction"] is None for r in rows) / n, 0.0)
    return out


def order_note(config: dict) -> str:
    """How the evaluated questions were chosen, for reports."""
    order = config.get("order", "file")
    how = {"random": f"in seeded random order (seed {config.get('seed')})", "id": "in id order"}.get(order, "in file order")
    return f"questions taken {how}" + (f"; --limit {config['limit']}" if config.get("limit") else "")


def compare_runs(a: Store, b: Store) -> tuple[PairedComparison, int]:
    """Paired comparison on the questions both runs finished; returns it and the number of questions left out."""
    ra, rb = {r["qid"]: r for r in a.results()}, {r["qid"]: r for r in b.results()}
    common = [q for q in ra if q in rb]
    left_out = len(set(ra) ^ set(rb))
    return paired_compare([float(bool(ra[q]["correct"])) for q in common],
                          [float(bool(rb[q]["correct"])) for q in common]), left_out
