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


def option_letters(rows: list[dict]) -> list[str]:
    """Every option letter the questions offer (from each result's stored options), plus any gold or predicted one."""
    letters = {L for r in rows for L in ((r.get("meta") or {}).get("options") or {})}
    return sorted(letters | {r["gold"] for r in rows} | {r["prediction"] for r in rows if r["prediction"]})


def letter_distribution(rows: list[dict]) -> dict[str, tuple[float, float]]:
    """letter -> (share of predictions, share of gold answers) for every option letter (0% ones too), with "none" for
    no answer: an extraction or position bias (every CoT summary read as "A") shows as predictions far from the gold
    shares."""
    n = len(rows) or 1
    out = {L: (sum(r["prediction"] == L for r in rows) / n, sum(r["gold"] == L for r in rows) / n)
           for L in option_letters(rows)}
    out["none"] = (sum(r["prediction"] is None for r in rows) / n, 0.0)
    return out


@dataclass
class Baselines:
    """What accuracy means without knowledge: guessing, and always answering one letter."""
    chance: float                 # expected accuracy of a uniform guess (mean of 1/number of options)
    majority_letter: str          # the most common gold letter
    majority: float               # accuracy of always answering it
    top_prediction: str | None    # the letter the model answered most often
    top_share: float              # share of questions it answered that letter
    top_gold_share: float         # accuracy of always answering that letter

    def bias_note(self, accuracy: float, threshold: float = 0.8) -> str | None:
        """In words, when the model answers one letter at least `threshold` of the time: its accuracy is then mostly
        that letter's share of the gold answers, not knowledge."""
        if self.top_prediction is None or self.top_share < threshold:
            return None
        return (f"letter bias: the model answered {self.top_prediction} to {100 * self.top_share:.0f}% of questions; "
                f"always answering {self.top_prediction} scores {100 * self.top_gold_share:.0f}% here, so its "
                f"{100 * accuracy:.0f}% is letter bias, not knowledge")

    def line(self) -> str:
        return (f"chance {100 * self.chance:.1f}%; always the commonest gold letter ({self.majority_letter}) "
                f"{100 * self.majority:.1f}%")


def baselines(rows: list[dict]) -> Baselines:
    n = len(rows) or 1
    dist = {L: v for L, v in letter_distribution(rows).items() if L != "none"}
    n_options = [len((r.get("meta") or {}).get("options") or {}) or len(dist) for r in rows]
    majority = max(dist, key=lambda L: dist[L][1], default="-")
    top = max(dist, key=lambda L: dist[L][0], default=None)
    top = top if top is not None and dist[top][0] > 0 else None
    return Baselines(sum(1 / k for k in n_options if k) / n, majority, dist.get(majority, (0, 0))[1], top,
                     dist[top][0] if top else 0.0, dist[top][1] if top else 0.0)


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
