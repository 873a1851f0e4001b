"""The per-rater dashboard of a study: progress, score on gold items, qualification, agreement with the consensus of
the other raters, time per item and straight-lining, with outlier raters flagged and the reason given.

- gold: share of (gold item, axis) answers equal to the expected value; flagged below `GOLD_MIN`;
- agreement: over (real item, axis) rated by 2+ other raters, the share where this rater gave the other raters' most
  frequent value (any of them on a tie); flagged when `AGREE_GAP` below the median rater's, on `MIN_COMPARED`+;
- seconds: median time on item (measured by the server); flagged under `FAST_SECONDS`;
- straight-lining: share of the rater's real items given one identical set of ratings; flagged at `STRAIGHT_MAX`+
  over `MIN_ITEMS`+ items.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict

from sqlalchemy import select
from sqlalchemy.engine import Engine

from clinqa.rating.db import assignments, items, ratings, users
from clinqa.rating.quality import qualification, score

GOLD_MIN, AGREE_GAP, MIN_COMPARED, FAST_SECONDS, STRAIGHT_MAX, MIN_ITEMS = 0.7, 0.2, 10, 10.0, 0.9, 5


def rater_dashboard(engine: Engine, study_id: int) -> list[dict]:
    with engine.connect() as c:
        arows = c.execute(select(assignments.c.id, assignments.c.rater_id, assignments.c.submitted,
                                 assignments.c.seconds, items.c.id.label("item"), items.c.kind, items.c.gold,
                                 users.c.username, users.c.pool)
                          .join(items, items.c.id == assignments.c.item_id)
                          .join(users, users.c.id == assignments.c.rater_id)
                          .where(assignments.c.study_id == study_id)).all()
        rrows = c.execute(select(ratings.c.assignment_id, ratings.c.item_id, ratings.c.rater_id, ratings.c.axis,
                                 ratings.c.value).where(ratings.c.study_id == study_id)).all()
    by_assignment = defaultdict(dict)
    by_item_axis = defaultdict(dict)            # (item, axis) -> rater -> value
    for r in rrows:
        by_assignment[r.assignment_id][r.axis] = r.value
        by_item_axis[(r.item_id, r.axis)][r.rater_id] = r.value
    raters: dict[int, dict] = {}
    for a in arows:
        d = raters.setdefault(a.rater_id, dict(rater=a.username, pool=a.pool, assigned=0, submitted=0, gold_hits=0,
                                               gold_total=0, seconds=[], vectors=Counter(), agree=0, compared=0))
        phase = (a.gold or {}).get("phase")
        if phase == "qualification":
            continue
        d["assigned"] += 1
        if a.submitted is None:
            continue
        d["submitted"] += 1
        if a.seconds is not None:
            d["seconds"].append(a.seconds)
        given = by_assignment.get(a.id, {})
        if phase == "gold":
            h, t = score(a.gold["expected"], given)
            d["gold_hits"] += h
            d["gold_total"] += t
            continue
        if a.kind != "pairwise":
            d["vectors"][tuple(sorted(given.items()))] += 1
        for axis, value in given.items():
            others = [v for rid, v in by_item_axis[(a.item, axis)].items() if rid != a.rater_id]
            if len(others) >= 2:
                counts = Counter(others)
                top = max(counts.values())
                d["compared"] += 1
                d["agree"] += counts.get(value, 0) == top
    out = []
    for rid, d in sorted(raters.items(), key=lambda kv: kv[1]["rater"]):
        n_vec = sum(d["vectors"].values())
        row = dict(rater=d["rater"], pool=d["pool"], assigned=d["assigned"], submitted=d["submitted"],
                   gold=d["gold_hits"] / d["gold_total"] if d["gold_total"] else None,
                   agreement=d["agree"] / d["compared"] if d["compared"] else None, compared=d["compared"],
                   median_seconds=statistics.median(d["seconds"]) if d["seconds"] else None,
                   straight_lining=max(d["vectors"].values()) / n_vec if n_vec else None, n_independent=n_vec,
                   qualification=qualification(engine, study_id, rid), flags=[])
        out.append(row)
    agreements = [r["agreement"] for r in out if r["agreement"] is not None and r["compared"] >= MIN_COMPARED]
    median_agreement = statistics.median(agreements) if agreements else None
    for r in out:
        q = r["qualification"]
        if q.status == "failed":
            r["flags"].append(f"failed qualification ({100 * q.score:.0f}% < {100 * q.threshold:.0f}%)")
        if r["gold"] is not None and r["gold"] < GOLD_MIN:
            r["flags"].append(f"gold {100 * r['gold']:.0f}% < {100 * GOLD_MIN:.0f}%")
        if (median_agreement is not None and r["agreement"] is not None and r["compared"] >= MIN_COMPARED
                and r["agreement"] < median_agreement - AGREE_GAP):
            r["flags"].append(f"agreement {100 * r['agreement']:.0f}% vs median {100 * median_agreement:.0f}%")
        if r["median_seconds"] is not None and r["median_seconds"] < FAST_SECONDS:
            r["flags"].append(f"fast: median {r['median_seconds']:.1f} s per item")
        straight = r["straight_lining"]
        if straight is not None and r["n_independent"] >= MIN_ITEMS and straight >= STRAIGHT_MAX:
            r["flags"].append(f"straight-lining: {100 * r['straight_lining']:.0f}% of items rated identically")
    return out
