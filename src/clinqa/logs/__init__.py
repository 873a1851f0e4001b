"""Logs for other tools, both ways: export a `clinqa bench` run to inspect_ai's eval log (`inspect_log.py`) and to
lm-evaluation-harness's results/samples files (`lmeval_log.py`); import long-form answers from either as an answer
source for rating studies. This module holds what both formats share: reading a bench run, the answer text of a
finished question, and saving imported answers with their provenance.
"""

from __future__ import annotations

from pathlib import Path

from clinqa.data.errors import DataError
from clinqa.store import Store


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


def detect_format(path: str | Path) -> str:
    """"inspect" for .eval files and inspect .json logs, "lm-eval" for samples_*.jsonl, "table" for other CSV/JSONL."""
    p = Path(path)
    if p.suffix == ".eval":
        return "inspect"
    if p.suffix == ".jsonl" and p.name.startswith("samples_"):
        return "lm-eval"
    if p.suffix == ".json":
        import json
        try:
            head = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise DataError(p, f"not a JSON file: {e}") from None
        if isinstance(head, dict) and "eval" in head and "version" in head:
            return "inspect"
        raise DataError(p, "a .json file that is not an inspect eval log; give answers as .csv/.jsonl")
    return "table"


def import_answers_from(path: str | Path, source: str, run_dir: str | Path, fmt: str = "auto") -> tuple[int, str]:
    """Import answers from an inspect log, an lm-eval samples file or a CSV/JSONL table; returns (count, format)."""
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt == "inspect":
        from clinqa.logs.inspect_log import answers_from_inspect
        return save_imported(answers_from_inspect(path), source, run_dir), fmt
    if fmt == "lm-eval":
        from clinqa.logs.lmeval_log import answers_from_lmeval
        return save_imported(answers_from_lmeval(path), source, run_dir), fmt
    if fmt == "table":
        from clinqa.longform.answer import import_answers
        return import_answers(path, source, run_dir), fmt
    raise DataError(path, f"unknown answers format {fmt!r}; one of auto, inspect, lm-eval, table")
