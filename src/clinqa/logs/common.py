"""What the inspect and lm-eval logs share: reading a finished run, its first prompt, and saving imported answers with
their provenance. What a row holds (input, output, target, scores) is `clinqa.eval.summary`'s."""

from __future__ import annotations

from pathlib import Path

from clinqa.data.errors import DataError
from clinqa.eval.store import Store


def finished_run(run_dir: str | Path) -> tuple[Store, dict, list[dict]]:
    """(store, run info, finished samples in order) of a run of any task kind; a clear error naming the run when it
    has nothing to export."""
    store = Store.open_existing(run_dir)
    info, rows = store.run_info(), store.results()
    if not rows:
        raise DataError(store.dir, "no finished samples to export (the run has not finished any yet)")
    return store, info, rows


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
