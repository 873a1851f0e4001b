"""`clinqa judge kqa / kqa-card`: K-QA scored by an NLI judge, and the NLI judge's card against the physicians'
labels (registered on the `judge` group through `clinqa.cli.judge_real`).

  kqa RUN --grader M       comprehensiveness and hallucination rate of every answer source stored in RUN (answers
                           from `clinqa answer --task kqa`; --physician adds K-QA's physician answers as a source)
  kqa-card --grader M      the NLI judge on the 399 physician-labelled (answer, statement) pairs

Verdicts are appended to RUN/kqa-nli.jsonl as they come (one line per statement), so an interrupted run resumes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from clinqa.cli.common import console, fail
from clinqa.cli.judge_run import _load
from clinqa.data.errors import DataError
from clinqa.data.loaders.kqa import LABELS, MUST, NICE, NLI_LABELS, load_nli_labels
from clinqa.data.registry import data_root

CACHE = "kqa-nli.jsonl"


def physician_rows(records) -> list[dict]:
    """K-QA's physician answers as stored answers of source `physician`."""
    return [dict(qid=q.id, source="physician", dataset=q.dataset, question=q.question, text=q.references[0],
                 model=None, prompt=None, params={"imported_from": "K-QA Free_form_answer"}, tokens=None,
                 seconds=None, extra=q.extra) for q in records]


def statement_jobs(answers: list[dict], records: dict) -> list[dict]:
    """One job per (stored answer, gold statement) of the answers whose question is a K-QA record."""
    return [dict(source=a["source"], answer_id=a["answer_id"], category=cat, index=i, statement=s, answer=a["text"])
            for a in answers if a["qid"] in records
            for cat in (MUST, NICE) for i, s in enumerate(records[a["qid"]].extra[cat])]


def _key(row: dict, grader: str) -> tuple:
    return grader, row["answer_id"], row["category"], row["index"]


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
    from clinqa.analysis.kqa import kqa_scores
    from clinqa.judge.nli import nli_verdicts
    from clinqa.eval.store import Store
    from clinqa.tasks import get_task
    try:
        records = {q.id: q for q in get_task("kqa").load(None, data_dir)}
        store = Store(run)
        if physician:
            have = {a["qid"] for a in store.answers()} or set(list(records)[:limit])
            for row in physician_rows([records[q] for q in sorted(have) if q in records]):
                store.save_answer(row)
        jobs = statement_jobs(store.answers(), records)
    except (DataError, FileNotFoundError, ValueError) as e:
        fail(str(e))
    if not jobs:
        fail(f"{run}: no stored answers to K-QA questions (run `clinqa answer --task kqa` or pass --physician)")
    cache = run / CACHE
    done = {}
    if cache.exists():
        for line in cache.read_text().splitlines():
            row = json.loads(line)
            done[_key(row, row["grader"])] = row["label"]
    todo = [j for j in jobs if _key(j, grader) not in done]
    if todo:
        backend = _load(grader)
        console.print(f"{len(todo)} statements to judge ({len(jobs) - len(todo)} already judged)")
        step = 64
        with open(cache, "a") as fh:
            for start in range(0, len(todo), step):          # written per chunk: an interrupted run resumes
                part = todo[start:start + step]
                labels = nli_verdicts(backend, [(j["answer"], j["statement"]) for j in part], seed, retries)
                for j, lab in zip(part, labels):
                    done[_key(j, grader)] = lab
                    fh.write(json.dumps(dict(grader=grader, answer_id=j["answer_id"], category=j["category"],
                                             index=j["index"], label=lab)) + "\n")
                fh.flush()
                console.log(f"judged {min(start + step, len(todo))}/{len(todo)}")
    scores = kqa_scores([(j["source"], j["answer_id"], j["category"], done[_key(j, grader)]) for j in jobs],
                        resamples, seed)
    t = Table(title=f"K-QA, NLI judge {grader}: % [95% bootstrap by answer]")
    for c in ("source", "answers", "comprehensiveness", "hallucination rate", "statements", "unjudged"):
        t.add_column(c, justify="left" if c == "source" else "right")
    for s in scores:
        t.add_row(s.source, str(s.n_answers), s.comprehensiveness.fmt(), s.hallucination.fmt(), str(s.n_statements),
                  str(s.n_unjudged))
    console.print(t)


@kqa_app.command("kqa-card")
def kqa_card(grader: str = typer.Option(..., help="NLI judge model"),
             limit: Optional[int] = typer.Option(None, help="only the first N labelled pairs"),
             retries: int = typer.Option(2), seed: int = typer.Option(0), resamples: int = typer.Option(2000),
             data_dir: Optional[Path] = typer.Option(None)):
    """The NLI judge against K-QA's three physicians: κ per physician and pooled beside their leave-one-physician-out
    ceiling, balanced and per-label F1, the confusion matrix against the physicians' majority."""
    from clinqa.analysis.kqa import nli_card
    from clinqa.judge.nli import nli_verdicts
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
