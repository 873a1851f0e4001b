"""A study's ratings as a file: CSV, JSONL or Parquet (the long table `clinqa rate analyze` reads).

CSV cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return)
are neutralised with a leading apostrophe (the OWASP advice); JSONL and Parquet keep values as they are."""

from __future__ import annotations

import csv
import io
import json

from fastapi import HTTPException

from clinqa.rating.study import EXPORT_COLUMNS

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FORMATS = ("csv", "jsonl", "parquet")


def neutralise(value):
    """'=HYPERLINK(...)' -> "'=HYPERLINK(...)"; other values unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def render_export(rows: list[dict], fmt: str, columns: list[str] = EXPORT_COLUMNS) -> tuple[bytes, str]:
    if fmt == "jsonl":
        return "".join(json.dumps(r) + "\n" for r in rows).encode(), "application/x-ndjson"
    if fmt == "parquet":
        import pandas as pd
        buf = io.BytesIO()
        pd.DataFrame(rows, columns=columns).to_parquet(buf, index=False)
        return buf.getvalue(), "application/vnd.apache.parquet"
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=columns)
        w.writeheader()
        w.writerows({k: neutralise(v) for k, v in r.items()} for r in rows)
        return buf.getvalue().encode(), "text/csv"
    raise HTTPException(404, f"export formats: {', '.join(FORMATS)}")
