"""The paper's report from a finished or partial plan: one HTML page (`<root>/report/index.html`) and `numbers.csv`
holding every number it shows, each with the run directory it comes from.

- Multiple choice, Table-5 style: per model, task x strategy, accuracy with its Clopper-Pearson interval and the paired
  comparison against CoT on the questions both finished (difference, exact McNemar p), from `clinqa.metrics`.
- Table-4 style: per task and model, the best strategy.
- Long-form sets: the rating analysis of `clinqa rate analyze` (`clinqa.analysis.report`) on the set's judge ratings
  and, where the plan names them, the human ratings (then the judge cards too), written beside this page and its
  figures shown here; answers carrying a `category` (the adversarial sets) get best-bin shares per category.
- Every cell not yet run is listed as missing (or partial, with how much is there); a missing number is never 0.
"""

from __future__ import annotations

import csv
import os
from collections import defaultdict
from pathlib import Path

from clinqa.analysis.independent import summarize
from clinqa.analysis.report import analyze, number_rows, write_report
from clinqa.analysis.table import ratings_from_store, read_ratings
from clinqa.metrics import compare_runs, run_metrics
from clinqa.plan.expand import Cell
from clinqa.plan.report_html import render
from clinqa.plan.state import CellProgress
from clinqa.data.rubric import load_rubric
from clinqa.eval.store import DB_NAME, Store

REFERENCE = "cot"


def _rel(path: Path, out_dir: Path) -> str:
    return os.path.relpath(path, out_dir)


def mc_numbers(cells: list[Cell], root: Path, progress: dict[str, CellProgress], out_dir: Path) -> list[dict]:
    """One row per multiple-choice cell: accuracy [CI] and, for other strategies, the paired test against CoT;
    cells without results get a row with status missing and no value."""
    stores, rows = {}, []
    for c in cells:
        if c.kind == "mc" and (root / c.run_dir / DB_NAME).is_file():
            stores[c.id] = Store.open_existing(root / c.run_dir)
    for c in (c for c in cells if c.kind == "mc"):
        lab, p = c.labels, progress.get(c.id)
        base = dict(section="multiple_choice", model=lab["model"], dataset=lab["task"], strategy=lab["strategy"],
                    run_dir=_rel(root / c.run_dir, out_dir))
        results = stores[c.id].results() if c.id in stores else []
        if p and p.total is not None:      # the plan's questions: the first `total` of the run's order
            results = [r for r in results if r["position"] < p.total]
        if not results:
            rows.append(dict(base, statistic="accuracy", status="missing", total=p.total if p else None))
            continue
        status = "complete" if p and p.finished else "partial"
        acc = run_metrics(results)[0]
        rows.append(dict(base, statistic="accuracy", value=acc.accuracy.estimate, low=acc.accuracy.low,
                         high=acc.accuracy.high, n=acc.n, status=status, total=p.total if p else None))
        ref = f"mc/{lab['task']}/{REFERENCE}/{lab['model']}"
        if lab["strategy"] != REFERENCE and ref in stores:
            pc, _ = compare_runs(stores[ref], stores[c.id])
            rows.append(dict(base, statistic=f"difference_vs_{REFERENCE}", value=pc.diff.estimate, low=pc.diff.low,
                             high=pc.diff.high, n=pc.n, status=status))
            rows.append(dict(base, statistic=f"mcnemar_p_vs_{REFERENCE}", value=pc.mcnemar_p, n=pc.n, status=status))
    return rows


def best_per_dataset(mc_rows: list[dict]) -> list[dict]:
    """Table 4: for every (task, model) the strategy with the highest accuracy among the cells that have results."""
    best: dict = {}
    for r in mc_rows:
        if r["statistic"] != "accuracy" or r.get("value") is None:
            continue
        key = (r["dataset"], r["model"])
        if key not in best or r["value"] > best[key]["value"]:
            best[key] = r
    return [dict(best[k], section="best_per_dataset") for k in sorted(best)]


def category_rows(store: Store, ratings, rubric, n_boot: int, run_dir: str, key: str) -> list[dict]:
    """Best-bin share per answer category (the adversarial sets' `category`), physician ratings."""
    category = {a["answer_id"]: (a.get("extra") or {}).get("category") for a in store.answers()}
    by_cat = defaultdict(list)
    for r in ratings:
        if r.kind == "physician" and category.get(r.item):
            by_cat[category[r.item]].append(r)
    rows = []
    for cat, rs in sorted(by_cat.items()):
        for s in summarize(rs, rubric.axes("physician"), "physician", n_boot):
            rows.append(dict(section="category_subsets", dataset=key, category=cat, axis=s.axis, source=s.source,
                             statistic="best_bin_share", value=s.best.estimate, low=s.best.low, high=s.best.high,
                             n=s.n_ratings, status="complete", run_dir=run_dir))
    return rows


def longform_sections(cells: list[Cell], root: Path, out_dir: Path, human: Path | None, n_boot: int):
    """(number rows, one section per long-form set: its key, run dir, answers per source, report and figures)."""
    rubric = load_rubric()
    human_ratings = read_ratings(human, rubric) if human and human.is_file() else []
    sets: dict[str, list[Cell]] = defaultdict(list)
    for c in cells:
        if c.kind in ("answers", "import", "grade"):
            sets[c.labels["set"]].append(c)
    rows, sections = [], []
    for key, its in sets.items():
        run_dir = root / its[0].run_dir
        rel = _rel(run_dir, out_dir)
        sec = dict(key=key, run_dir=rel, sources={}, report=None, figures=[], note="")
        sections.append(sec)
        if not (run_dir / DB_NAME).is_file():
            sec["note"] = "missing: no answers yet"
            rows.append(dict(section="longform", dataset=key, statistic="answers", status="missing", run_dir=rel))
            continue
        store = Store.open_existing(run_dir)
        for c in its:
            if c.kind in ("answers", "import"):
                n = len(store.answers(c.params["source"]))
                sec["sources"][c.params["source"]] = n
                rows.append(dict(section="longform", dataset=key, source=c.params["source"], statistic="answers",
                                 value=n if n else None, n=n, status="complete" if n else "missing", run_dir=rel))
        ids = {a["answer_id"] for a in store.answers()}
        ratings = ratings_from_store(store) + [r for r in human_ratings if r.item.split("|")[0] in ids]
        if not ratings:
            failed = sum(1 for r in store.ratings() if not r["ok"])
            sec["note"] = "missing: no ratings yet" + (f" ({failed} stored ratings failed to parse)" if failed else "")
            rows.append(dict(section="longform", dataset=key, statistic="ratings", status="missing", run_dir=rel))
            continue
        try:
            a = analyze(ratings, rubric, n_boot)
        except ValueError as e:          # e.g. a value off the rubric's scale: say so, report the other sets
            sec["note"] = f"rating analysis failed: {e}"
            continue
        sec["judge"] = a.judge is not None
        folder = out_dir / f"longform-{key}"
        sec["report"] = _rel(write_report(a, rubric, folder), out_dir)
        sec["figures"] = [_rel(p, out_dir) for p in sorted(folder.glob("*.png"))]
        for r in number_rows(a):
            rows.append(dict(r, section=f"longform:{r['section']}", dataset=key, status="complete", run_dir=rel))
        rows += category_rows(store, ratings, rubric, n_boot, rel, key)
    return rows, sections


def missing_cells(cells: list[Cell], progress: dict[str, CellProgress], notes: list[str]) -> list[dict]:
    out = []
    for c in cells:
        p = progress.get(c.id)
        if p and p.finished:
            continue
        state = f"partial: {p.done} of {p.total if p.total is not None else '?'}" if p and p.done else "missing"
        out.append(dict(cell=c.id, state=state, run_dir=c.run_dir))
    return out + [dict(cell="-", state=n, run_dir="") for n in notes]


FIELDS = ["section", "model", "dataset", "strategy", "source", "other", "kind", "axis", "category", "statistic",
          "value", "low", "high", "n", "total", "status", "run_dir"]


def write_plan_report(name: str, cells: list[Cell], root: Path, progress: dict[str, CellProgress],
                      notes: list[str] = (), human: Path | None = None, n_boot: int = 2000) -> Path:
    """Write `<root>/report/index.html` and `numbers.csv`; returns the HTML path."""
    out_dir = root / "report"
    out_dir.mkdir(parents=True, exist_ok=True)
    mc = mc_numbers(cells, root, progress, out_dir)
    best = best_per_dataset(mc)
    lf_rows, sections = longform_sections(cells, root, out_dir, human, n_boot)
    missing = missing_cells(cells, progress, list(notes))
    with open(out_dir / "numbers.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS, extrasaction="ignore")
        w.writeheader()
        w.writerows(mc + best + lf_rows)
    page = render(name, mc, best, sections, [r for r in lf_rows if r["section"] == "category_subsets"], missing,
                  [c for c in cells if c.kind == "study"])
    (out_dir / "index.html").write_text(page)
    return out_dir / "index.html"
