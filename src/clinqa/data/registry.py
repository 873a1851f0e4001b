"""Where data lives and how a dataset is loaded by name.

The data root is `--data-dir`, else `$CLINQA_DATA`, else `../shared/data` beside the checkout (or the cwd). What each
name means (files, splits, counts, licence) is declared by its task in `clinqa.tasks` (`clinqa.tasks.load(name)`
loads one by name).
"""

from __future__ import annotations

import os
from pathlib import Path


def data_root(explicit: str | Path | None = None) -> Path:
    if explicit:
        return Path(explicit).expanduser().resolve()
    if os.environ.get("CLINQA_DATA"):
        return Path(os.environ["CLINQA_DATA"]).expanduser().resolve()
    here = Path(__file__).resolve()
    for base in [Path.cwd(), *here.parents]:
        cand = base.parent / "shared" / "data"
        if cand.is_dir():
            return cand
    return (Path.cwd().parent / "shared" / "data").resolve()
