"""The ratings long table every analysis reads: one row per (item, rater, axis) with the answer's source already
un-blinded. Read from a CSV / JSONL / Parquet export (the rating app's format) or from a run directory's results store
(`clinqa autorate` ratings joined with their answers).

Columns: kind (physician | lay | pairwise), item (the answer id, or the pair id for pairwise), qid, source, rater, axis,
value; pairwise rows also carry other_source (the source shown as "Answer 2"), and value is "Answer 1", "Answer 2" or
"Tie" as the rater saw it. Optional: study, created.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from clinqa.data.errors import DataError

KINDS = ("physician", "lay", "pairwise")


@dataclass(frozen=True)
class Rating:
    kind: str
    item: str
    qid: str
    source: str
    rater: str
    axis: str
    value: str
    other_source: str = ""
    study: str = ""


REQUIRED = ("kind", "item", "source", "rater", "axis", "value")


def _row_to_rating(row: dict, path: Path, line: int, scales: dict) -> Rating:
    for k in REQUIRED:
        if row.get(k) in (None, ""):
            raise DataError(path, "missing field", line=line, field=k)
    if row["kind"] not in KINDS:
        raise DataError(path, f"kind must be one of {', '.join(KINDS)}, got {row['kind']!r}", line=line, field="kind")
    if row["kind"] == "pairwise" and not row.get("other_source"):
        raise DataError(path, "pairwise rows need the source of answer 2", line=line, field="other_source")
    scale = scales.get((row["kind"], row["axis"]))
    if scale and str(row["value"]) not in scale:
        raise DataError(path, f"{row['kind']} axis {row['axis']!r} has no value {row['value']!r}; the rubric allows "
                        f"{list(scale)}", line=line, field="value")
    names = {f.name for f in fields(Rating)}
    clean = {k: str(v) for k, v in row.items() if k in names and v is not None}
    clean.setdefault("qid", clean["item"])
    if not clean["qid"]:
        clean["qid"] = clean["item"]
    return Rating(**clean)


def read_ratings(path: str | Path, rubric=None) -> list[Rating]:
    """Read a long table; a bad row raises DataError naming the file, line and field. With a rubric, values off an
    axis's scale are bad rows too."""
    path = Path(path)
    if not path.exists():
        raise DataError(path, "no such file")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        rows = []
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                try:
                    rows.append((i, json.loads(line)))
                except json.JSONDecodeError as e:
                    raise DataError(path, f"malformed JSON: {e.msg}", line=i) from None
    elif suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(enumerate(csv.DictReader(fh), start=2))
    elif suffix == ".parquet":
        import pandas as pd
        rows = list(enumerate(pd.read_parquet(path).fillna("").to_dict("records"), start=1))
    else:
        raise DataError(path, "ratings must be .csv, .jsonl or .parquet")
    scales = {(kind, a.key): a.scale for kind in KINDS for a in rubric.axes(kind)} if rubric else {}
    return [_row_to_rating(r, path, i, scales) for i, r in rows]


def write_ratings(ratings: list[Rating], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [asdict(r) for r in ratings]
    if path.suffix.lower() == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    elif path.suffix.lower() == ".parquet":
        import pandas as pd
        pd.DataFrame(rows).to_parquet(path, index=False)
    else:
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=[f.name for f in fields(Rating)])
            w.writeheader()
            w.writerows(rows)
    return path


def unblind(r: Rating) -> tuple[str, tuple[str, str], str]:
    """A pairwise rating as (pair key independent of sides, (source, source) sorted, chosen source or "Tie")."""
    pair = tuple(sorted((r.source, r.other_source)))
    chosen = "Tie" if r.value == "Tie" else (r.source if r.value == "Answer 1" else r.other_source)
    return f"{r.qid}:{pair[0]}|{pair[1]}", pair, chosen


def ratings_from_store(store) -> list[Rating]:
    """Ratings in a run directory's store (automatic grader or imported), un-blinded through the answers table."""
    answers = {a["answer_id"]: a for a in store.answers()}
    out = []
    for r in store.ratings():
        if not r["ok"]:
            continue
        a = answers.get(r["answer_id"])
        if a is None:
            continue
        other = answers.get(r["other_answer_id"]) if r["other_answer_id"] else None
        kind = r["kind"]
        for axis, value in (r["values"] or {}).items():
            out.append(Rating(kind, f"{r['answer_id']}|{r['other_answer_id']}" if other else r["answer_id"], a["qid"],
                              a["source"], r["rater"], axis, str(value), other["source"] if other else ""))
    return out
