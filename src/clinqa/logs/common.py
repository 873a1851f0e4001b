"""What the inspect and lm-eval logs share: reading a finished run, the answer text of a finished sample, and saving
imported answers with their provenance."""

from __future__ import annotations

from pathlib import Path

from clinqa.data.errors import DataError
from clinqa.eval.store import Store


def bench_run(run_dir: str | Path) -> tuple[Store, dict, list[dict]]:
    """(store, run info, finished questions in order) of a bench run; a clear error when there is nothing to export."""
    store = Store.open_existing(run_dir)
    info, rows = store.run_info(), store.results()
    if not rows:
        raise DataError(store.path, "no finished multiple-choice questions to export (is this a `clinqa bench` run?)")
    return store, info, rows


def answer_text(row: dict) -> str:
    """The model's text behind the final prediction: the first sample whose answer is the prediction, else the first
    sample, else (loglik, which generates nothing) the chosen option as "(X)"."""
    samples = row.get("samples") or []
    for s in samples:
        if row["prediction"] is not None and s.get("answer") == row["prediction"]:
            return s["text"]
    return samples[0]["text"] if samples else f"({row['prediction']})" if row["prediction"] else ""


def first_prompt(row: dict) -> str:
    prompts = row.get("prompts") or {}
    return next(iter(prompts.values()), "") if prompts else ""


def save_imported(answers: list[dict], source: str, run_dir: str | Path) -> int:
    """Store answers (dicts with qid, dataset, question, text, model, prompt, params, tokens, seconds, extra) under
    `source`; an answer already stored for (source, question) is kept. Returns how many were given."""
    store = Store(run_dir)
    for a in answers:
        store.save_answer(dict(a, source=source))
    return len(answers)
