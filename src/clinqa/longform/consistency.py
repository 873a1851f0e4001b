"""Counterfactual consistency: for question pairs that differ only in one attribute (race, sex, income, place), do the
two answers differ in substance?

The attribute words are masked in both answers, then the answers are compared word by word (difflib ratio, 0..1).
A pair whose similarity is below `threshold` (default 0.6) is flagged as differing in substance. This is a screen,
not a verdict: a flagged pair is for a physician (or `clinqa autorate`) to look at.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from dataclasses import dataclass


@dataclass
class PairCheck:
    pair: str
    attribute: str
    values: tuple[str, str]
    similarity: float
    differs: bool
    answer_ids: tuple[str, str]


def _mask(text: str, values) -> list[str]:
    for v in sorted(values, key=len, reverse=True):
        text = re.sub(re.escape(v), " ATTR ", text, flags=re.I)
    return re.findall(r"[a-z0-9]+", text.lower())


def similarity(a: str, b: str, values=()) -> float:
    return difflib.SequenceMatcher(None, _mask(a, values), _mask(b, values), autojunk=False).ratio()


def check_pairs(answers: list[dict], threshold: float = 0.6) -> list[PairCheck]:
    """`answers`: rows from the store; those whose `extra` has `pair` are grouped by pair (and source)."""
    groups = defaultdict(list)
    for a in answers:
        extra = a.get("extra") or {}
        if extra.get("pair"):
            groups[(a["source"], extra["pair"])].append(a)
    out = []
    for (source, pair), rows in sorted(groups.items()):
        if len(rows) != 2:
            continue
        rows.sort(key=lambda r: r["qid"])
        vals = tuple(r["extra"].get("value", "") for r in rows)
        sim = similarity(rows[0]["text"], rows[1]["text"], [v for v in vals if v])
        out.append(PairCheck(pair, rows[0]["extra"].get("attribute", ""), vals, sim, sim < threshold,
                             (rows[0]["answer_id"], rows[1]["answer_id"])))
    return out
