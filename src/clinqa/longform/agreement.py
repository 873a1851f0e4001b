"""Agreement between the automatic rater and human ratings, per axis: percent agreement and Cohen's kappa, so a team
can see whether to trust the grader before spending physician time.

Human ratings are a long table (CSV or JSONL): answer_id, rater, axis, value — the rating app's export format.
Each human rating of an (answer, axis) is paired with the grader's rating of the same answer and axis.
"""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from clinqa.data.errors import DataError


@dataclass
class AxisAgreement:
    axis: str
    n: int
    percent: float
    kappa: float


def cohen_kappa(a: list[str], b: list[str]) -> float:
    """Cohen's kappa for two raters' nominal labels on the same items (nan when undefined)."""
    n = len(a)
    if n == 0:
        return float("nan")
    po = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    pe = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / (n * n)
    return float("nan") if pe == 1 else (po - pe) / (1 - pe)


def read_long_table(path: str | Path) -> list[dict]:
    path = Path(path)
    if path.suffix.lower() == ".jsonl":
        rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    elif path.suffix.lower() == ".csv":
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    else:
        raise DataError(path, "ratings must be .csv or .jsonl")
    for i, r in enumerate(rows, start=2 if path.suffix.lower() == ".csv" else 1):
        for k in ("answer_id", "axis", "value"):
            if not r.get(k):
                raise DataError(path, "missing field", line=i, field=k)
    return rows


def agreement(auto_ratings: list[dict], human_rows: list[dict]) -> list[AxisAgreement]:
    auto = {(r["answer_id"], axis): v for r in auto_ratings if r["ok"] for axis, v in r["values"].items()}
    pairs = defaultdict(lambda: ([], []))
    for h in human_rows:
        key = (h["answer_id"], h["axis"])
        if key in auto:
            pairs[h["axis"]][0].append(h["value"])
            pairs[h["axis"]][1].append(auto[key])
    return [AxisAgreement(axis, len(hs), sum(x == y for x, y in zip(hs, au)) / len(hs), cohen_kappa(hs, au))
            for axis, (hs, au) in sorted(pairs.items())]
