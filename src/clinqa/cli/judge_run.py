"""`clinqa judge select / autorate / position / healthbench / healthbench-meta` (the commands that run graders or
choose answers; `clinqa.cli.judge` holds the group and the analysis commands)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from clinqa.cli.common import console, fail
from clinqa.data.errors import DataError

run_app = typer.Typer()


def _load(name: str):
    from clinqa.models import load_model
    with console.status(f"loading grader {name} ..."):
        return load_model(name)


@run_app.command()
def select(run: Path = typer.Argument(..., help="run directory whose answers carry judge ratings"),
           budget: int = typer.Option(..., help="expected number of answers to send to physicians"),
           out: Path = typer.Option(Path("design.jsonl"), help="design file to write"),
           kind: str = typer.Option("physician"), axes: Optional[str] = typer.Option(
               None, help="comma list of axes whose best-bin votes set the judge's certainty (default: all)"),
           mix: float = typer.Option(0.2, help="share of uniform sampling mixed in (keeps every probability > 0)"),
           uniform: bool = typer.Option(False, help="uniform probabilities (the baseline)"),
           seed: int = typer.Option(0)):
    """Choose answers for human rating where the judges are least certain or disagree, recording each answer's
    probability (pass the file to `clinqa rate analyze --design` so the PPI estimate stays unbiased)."""
    from clinqa.analysis.active import select_for_rating, write_design
    from clinqa.eval.store import Store
    try:
        rows = select_for_rating(Store.open_existing(run), budget, kind, set(axes.split(",")) if axes else None, mix,
                                 uniform, seed)
    except (FileNotFoundError, ValueError) as e:
        fail(str(e))
    write_design(rows, out)
    console.print(f"{sum(r['selected'] for r in rows)} of {len(rows)} answers selected (expected {budget}); "
                  f"probabilities {min(r['probability'] for r in rows):.3f}-{max(r['probability'] for r in rows):.3f}"
                  f" -> {out}")


@run_app.command()
def autorate(run: Path = typer.Argument(..., help="run directory with answers"),
             grader: List[str] = typer.Option(..., help="grader model; repeat for a jury"),
             kind: str = typer.Option("physician"), sources: Optional[str] = typer.Option(None),
             retries: int = typer.Option(3), seed: int = typer.Option(0)):
    """Rate the stored answers with each grader, then store the jury's combined rating ("jury:A+B")."""
    from clinqa.judge.jury import autorate_jury
    from clinqa.eval.store import Store
    try:
        store = Store.open_existing(run)
        backends = [_load(g) for g in grader]
        res = autorate_jury(store, backends, kind, sources.split(",") if sources else None, retries=retries,
                            seed=seed, progress=lambda n, d, t: console.log(f"{n}: {d}/{t}") if d == t else None)
    except (FileNotFoundError, ValueError) as e:
        fail(str(e))
    t = Table(title=f"{kind} ratings per judge")
    for c in ("rater", "ratings", "parsed", "parse rate"):
        t.add_column(c)
    for name, rows in res.items():
        ok = sum(r["ok"] for r in rows)
        t.add_row(name, str(len(rows)), str(ok), f"{100 * ok / len(rows):.1f}%" if rows else "-")
    console.print(t)


@run_app.command()
def position(run: Path = typer.Argument(..., help="run directory with answers of the two sources"),
             grader: str = typer.Option(...), sources: str = typer.Option(..., help="two sources, comma separated"),
             limit: Optional[int] = typer.Option(None, help="at most this many pairs"), seed: int = typer.Option(0)):
    """Position bias: every pair graded as A|B and B|A; the share of axes whose un-blinded choice survives the swap."""
    from clinqa.judge.position import position_swap
    from clinqa.data.rubric import load_rubric
    from clinqa.eval.store import Store
    try:
        store = Store.open_existing(run)
        a, b = ({x["qid"]: x for x in store.answers(s)} for s in sources.split(","))
    except (FileNotFoundError, ValueError) as e:
        fail(f"{e} (--sources needs two sources)")
    pairs = [(a[q]["question"], a[q]["text"], b[q]["text"]) for q in a if q in b][:limit]
    res = position_swap(_load(grader), load_rubric().axes("pairwise"), pairs, seed)
    console.print(f"{res.pop('parsed')} of {res.pop('n')} pairs parsed in both orders; chose 'Answer 1' in "
                  f"{100 * res.pop('first'):.1f}% of non-tie choices (50% = no position bias)")
    for axis, share in res.items():
        console.print(f"  {axis}: consistent under swap {100 * share:.1f}%")


@run_app.command()
def healthbench(data: str = typer.Argument("sample", help="HealthBench JSONL path, its URL, 'url' or 'sample'"),
                grader: str = typer.Option(...), responder: Optional[str] = typer.Option(
                    None, help="model whose answers are graded (default: the ideal completions in the file)"),
                completions: Optional[Path] = typer.Option(None, help="JSONL of {prompt_id, completion} to grade"),
                limit: Optional[int] = typer.Option(None), retries: int = typer.Option(2), seed: int = typer.Option(0),
                concurrency: Optional[int] = typer.Option(None, help="examples in flight, their requests batched"),
                run_dir: Optional[Path] = typer.Option(None, help="the run's directory (resumable; default under runs/)"),
                out: Optional[Path] = typer.Option(None, help="JSON file for every grade and score")):
    """HealthBench scores (clipped mean, 95% bootstrap) overall, by theme and by axis, and the grader's parse rate.
    A run through the eval core: resumable, batched, with a run log (`clinqa export inspect RUN_DIR`)."""
    import json

    from clinqa.data.loaders.healthbench import URL, read_jsonl
    from clinqa.eval import EvalConfig, GivenCompletions, run_eval
    from clinqa.eval.healthbench import HealthBenchScorer, healthbench_metrics
    from clinqa.report import rows_of
    from clinqa.results_view import parse_rate_line, results_table
    task = "healthbench" if data == "sample" else f"healthbench:{URL if data == 'url' else data}"
    try:
        given = {r["prompt_id"]: r["completion"] for _, r in read_jsonl(completions)} if completions else None
        solver = None if responder else GivenCompletions(given, str(completions) if completions else "ideal")
        cfg = EvalConfig(dataset=task, model=responder or grader, grader=grader, limit=limit, seed=seed, order="id",
                         concurrency=concurrency, run_dir=str(run_dir) if run_dir else None)
        store = run_eval(config=cfg, solver=solver, scorers=[HealthBenchScorer(retries=retries)])
    except (DataError, KeyError, OSError, ValueError) as e:
        fail(str(e))
    console.print(results_table(store))
    console.print(parse_rate_line(store))
    console.print(f"run directory: {store.dir}")
    if out:
        rows = rows_of(store)
        out.write_text(json.dumps({"metrics": {k: [v[0].estimate, v[0].low, v[0].high, v[1]] for k, v in
                                               healthbench_metrics(rows).items()},
                                   "examples": [{"prompt_id": r["qid"], "completion": r["meta"].get("completion"),
                                                 **r["score"]["healthbench"]["metadata"]} for r in rows]}, indent=1))


@run_app.command("healthbench-meta")
def healthbench_meta(data: str = typer.Argument("sample", help="meta-eval JSONL path, 'url' or 'sample'"),
                     grader: str = typer.Option(...), limit: Optional[int] = typer.Option(None),
                     retries: int = typer.Option(2), seed: int = typer.Option(0)):
    """The grader's balanced F1 against physicians' rubric labels, beside the physicians' own (leave-one-out)."""
    from clinqa.data.loaders.healthbench import SAMPLE
    from clinqa.eval.healthbench_meta import URL, grade_meta, load_meta, meta_eval
    sample = SAMPLE.with_name("sample_meta_eval.jsonl")
    try:
        rows = load_meta({"sample": sample, "url": URL}.get(data, data))[:limit]
    except (DataError, OSError) as e:
        fail(str(e))
    res = meta_eval(rows, grade_meta(rows, _load(grader), retries, seed))
    console.print(f"{res.parsed}/{res.n_rows} criteria parsed; balanced F1: grader {res.model_f1.fmt(False)}, "
                  f"physicians (leave-one-out) {res.physician_f1.fmt(False)}")
    for c, (m, p, n) in res.by_category.items():
        console.print(f"  {c}: grader {m:.3f}, physicians {p:.3f} ({n} rows)")
