"""`clinqa judge kqa / kqa-card`: K-QA scored by the eval core's NLI scorer, and the NLI judge's card against the
physicians' labels (registered on the `judge` group through `clinqa.cli.judge`).

  kqa RUN --grader M       comprehensiveness and hallucination rate of every answer source stored in RUN (answers
                           from `clinqa answer --task kqa`; --physician adds K-QA's physician answers as a source)
  kqa-card --grader M      the NLI judge on the 399 physician-labelled (answer, statement) pairs

`kqa` is `clinqa bench --task kqa` on answers written before: each source is one eval-core run (`run_eval` with the
source's answers as the solver and `NLIStatementScorer`) in RUN/kqa-nli/<source>, so an interrupted run resumes and
a changed judge (prompt, retries, grader) is refused rather than mixed in.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from clinqa.cli.common import console, fail
from clinqa.cli.judge_run import _load
from clinqa.data.errors import DataError
from clinqa.data.loaders.kqa import LABELS, NLI_LABELS, load_nli_labels
from clinqa.data.registry import data_root

RUNS = "kqa-nli"                 # RUN/kqa-nli/<source>: one eval-core run per answer source
OLD_CACHE = "kqa-nli.jsonl"      # verdicts of clinqa before the eval core (not read)


def answer_sources(answers: list[dict], records: list, physician: bool, limit: int | None) -> dict[str, dict]:
    """{source: {question id: answer text}} of the stored answers to K-QA questions, plus K-QA's physician answers
    (to the questions answered, or to the first `limit` questions when none is) as the source `physician`."""
    by_id = {q.id: q for q in records}
    sources: dict[str, dict] = {}
    for a in answers:
        if a["qid"] in by_id:
            sources.setdefault(a["source"], {})[a["qid"]] = a["text"]
    if physician:
        asked = {q for given in sources.values() for q in given} or [q.id for q in records[:limit]]
        sources["physician"] = {q: by_id[q].references[0] for q in asked}
    return sources


def source_dir(run: Path, source: str) -> Path:
    return run / RUNS / re.sub(r"[^\w.+-]+", "_", source)


kqa_app = typer.Typer()


@kqa_app.command()
def kqa(run: Path = typer.Argument(..., help="run directory with K-QA answers (`clinqa answer --task kqa`)"),
        grader: str = typer.Option(..., help="NLI judge model"),
        physician: bool = typer.Option(False, help="add K-QA's physician answers as the source 'physician'"),
        limit: Optional[int] = typer.Option(None, help="physician answers for the first N questions when the run "
                                            "has none"),
        retries: int = typer.Option(2), seed: int = typer.Option(0), resamples: int = typer.Option(10_000),
        data_dir: Optional[Path] = typer.Option(None)):
    """K-QA's metrics per answer source, with answer-clustered 95% bootstrap intervals."""
    from clinqa.analysis.kqa import kqa_scores, run_verdicts
    from clinqa.eval import EvalConfig, GivenCompletions, Store, run_eval
    from clinqa.eval.store import DB_NAME
    from clinqa.eval.nli import NLIStatementScorer
    from clinqa.results_view import kqa_table
    from clinqa.tasks import get_task
    try:
        records = get_task("kqa").load(None, data_dir)
        answers = Store.open_existing(run).answers() if (run / DB_NAME).is_file() or not physician else []
        sources = answer_sources(answers, records, physician, limit)
    except (DataError, FileNotFoundError, ValueError) as e:
        fail(str(e))
    if not sources:
        fail(f"{run}: no stored answers to K-QA questions (run `clinqa answer --task kqa` or pass --physician)")
    if (run / OLD_CACHE).exists():
        console.print(f"{run / OLD_CACHE} (verdicts of an older clinqa) is not read: its statements are judged again "
                      f"into {run / RUNS}", markup=False, soft_wrap=True)
    todo = {s: len(set(given) - Store(source_dir(run, s)).done_ids()) for s, given in sources.items()}
    backend = _load(grader) if any(todo.values()) else None
    verdicts = []
    for source, given in sources.items():
        console.print(f"{source}: {len(given)} answers, {todo[source]} to judge -> {source_dir(run, source)}",
                      markup=False, soft_wrap=True)
        cfg = EvalConfig(dataset="kqa", model=grader, grader=grader, seed=seed, order="id",
                         data_dir=str(data_dir) if data_dir else None, run_dir=str(source_dir(run, source)))
        try:
            store = run_eval(config=cfg, solver=GivenCompletions(given, source),
                             scorers=[NLIStatementScorer(retries=retries)], grader=backend)
        except (DataError, FileNotFoundError, ValueError) as e:
            fail(str(e))
        verdicts += run_verdicts(store.results(), source)
    console.print(kqa_table(kqa_scores(verdicts, resamples, seed),
                            f"K-QA, NLI judge {grader}: % [95% bootstrap by answer]"))


@kqa_app.command("kqa-card")
def kqa_card(grader: str = typer.Option(..., help="NLI judge model"),
             limit: Optional[int] = typer.Option(None, help="only the first N labelled pairs"),
             retries: int = typer.Option(2), seed: int = typer.Option(0), resamples: int = typer.Option(2000),
             data_dir: Optional[Path] = typer.Option(None)):
    """The NLI judge against K-QA's three physicians: κ per physician and pooled beside their leave-one-physician-out
    ceiling, balanced and per-label F1, the confusion matrix against the physicians' majority."""
    from clinqa.analysis.kqa import nli_card
    from clinqa.eval.nli import nli_verdicts
    try:
        pairs = load_nli_labels(data_root(data_dir) / NLI_LABELS)[:limit]
    except DataError as e:
        fail(str(e))
    backend = _load(grader)
    verdicts = nli_verdicts(backend, [(p.answer, p.statement) for p in pairs], seed, retries,
                            progress=lambda d, t: console.log(f"judged {d}/{t}"))
    c = nli_card(pairs, verdicts, resamples, seed)
    t = Table(title=f"NLI judge {grader} on {c.n_pairs} physician-labelled pairs ({c.n_judged} parsed): "
                    "[95% bootstrap by answer]")
    for col in ("against", "judge κ", "ceiling κ (other physicians)"):
        t.add_column(col, justify="left" if col == "against" else "right")
    for name, kj, kc in c.per_physician:
        t.add_row(name, kj.fmt(False), kc.fmt(False))
    t.add_row("pooled", c.kappa.fmt(False), c.ceiling_kappa.fmt(False))
    t.add_row("balanced F1", c.balanced_f1.fmt(False), c.ceiling_balanced_f1.fmt(False))
    for lab in LABELS:
        t.add_row(f"F1 {lab}", *[f"{x:.3f}" if x == x else "-" for x in (c.label_f1.get(lab, float("nan")),
                                                                          c.ceiling_label_f1[lab])])
    console.print(t)
    m = Table(title="confusion: physicians' majority (rows) x judge (columns)")
    for col in ("majority", *LABELS, "unparsed"):
        m.add_column(col, justify="left" if col == "majority" else "right")
    for i, lab in enumerate(LABELS):
        m.add_row(lab, *[str(int(x)) for x in c.confusion[i]], str(c.unjudged_by_majority[lab]))
    console.print(m)
