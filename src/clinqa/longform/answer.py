"""Long-form answers: generate them with the paper's prompt (greedy by default, as the paper), or import answers
written elsewhere (physicians, another system) so that rating studies can compare sources. Every answer is stored
with its provenance (model, prompt, parameters, seed, time) in the run's results store; a run resumes after a kill.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from clinqa.data.errors import DataError
from clinqa.data.loaders.common import read_jsonl
from clinqa.eval.batching import batched
from clinqa.eval.loop import run_items
from clinqa.eval.provenance import data_digests, provenance
from clinqa.data.registry import data_root
from clinqa.models.base import Backend, GenRequest
from clinqa.models.resolve import checkpoint_paths, load_model
from clinqa.prompts import longform_prompt
from clinqa.eval.store import Store
from clinqa.tasks import Task, get_task


@dataclass
class AnswerConfig:
    dataset: str = field(default="liveqa", metadata={"flags": ("--task", "--dataset"), "help": "a long-form task "
                         "(`clinqa tasks list`: liveqa, medicationqa, healthsearchqa, multimedqa140, "
                         "adversarial_general, ...), equitymedqa:<subset>, path/to/file.py:task, or a .csv/.jsonl of "
                         "questions"})
    split: str | None = field(default=None, metadata={"help": "default: the task's evaluation split"})
    model: str = field(default="smollm2-135m-instruct", metadata={"help": "model name, path, hub id or "
                       "<backend>:<model>"})
    source: str | None = field(default=None, metadata={"help": "name of this answer source in studies (default: "
                               "the model name)"})
    limit: int | None = field(default=None, metadata={"help": "answer the first N questions; a larger N later "
                              "extends the same source"})
    max_tokens: int = field(default=384, metadata={"help": "new tokens per answer"})
    temperature: float = field(default=0.0, metadata={"help": "0 = greedy, as the paper's long-form answers"})
    seed: int = field(default=1234, metadata={"help": "seeds sampled answers"})
    debias: bool | None = field(default=None, metadata={"help": "bias instruction (default: on for adversarial/"
                                "equity sets)"})
    chat_template: bool | None = field(default=None, metadata={"help": "default: the model's template"})
    data_dir: str | None = field(default=None, metadata={"help": "the data root (default: $CLINQA_DATA or "
                                 "../shared/data)"})
    run_dir: str = field(default="runs/answers", metadata={"help": "the answer store's directory"})
    concurrency: int | None = field(default=None, metadata={"help": "questions in flight at once, their requests "
                                    "batched (default: the backend's); results do not depend on it"})

    def identity(self) -> dict:
        d = asdict(self)
        for k in ("run_dir", "data_dir", "limit", "concurrency"):   # a larger --limit extends the same source
            d.pop(k)
        return d


def questions_for(cfg: AnswerConfig) -> list:
    qs = get_task(cfg.dataset).load(cfg.split, cfg.data_dir)
    if qs and not hasattr(qs[0], "references"):
        raise DataError(cfg.dataset, "this is a multiple-choice dataset; use `clinqa bench` for it", field="dataset")
    return qs[:cfg.limit] if cfg.limit else qs


def record_task(dataset: str) -> Task | None:
    """The task a record came from (a MultiMedQA 140 record keeps its own set's), None for ad-hoc question files."""
    try:
        return get_task(dataset)
    except DataError:
        return None


def wants_debias(cfg: AnswerConfig, dataset: str) -> bool:
    if cfg.debias is not None:
        return cfg.debias
    task = record_task(dataset)
    return bool(task and task.debias) or get_task(cfg.dataset).debias


def run_answers(cfg: AnswerConfig, backend: Backend | None = None,
                progress: Callable[[int, int, dict], None] | None = None) -> Store:
    qs = questions_for(cfg)
    store = Store(cfg.run_dir)
    source = cfg.source or cfg.model
    done = store.done_answers(source)
    if any(q.id not in done for q in qs) and backend is None:
        backend = load_model(cfg.model, chat_template=cfg.chat_template)
    described = backend.describe() if backend else {}
    store.init_answer_source(source, cfg.identity(), described)
    task = get_task(cfg.dataset)
    store.record_provenance(provenance({"answer_source": source, **cfg.identity()},
                                       {"spec": cfg.model, "backend": described,
                                        "checkpoint": data_digests(checkpoint_paths(cfg.model))},
                                       [task.path(data_root(cfg.data_dir))] if task.relpath else []))

    def one(q) -> dict:
        task = record_task(q.dataset)
        variant = task.prompt_variant if task else "healthsearchqa"
        prompt = longform_prompt(q.question, variant, wants_debias(cfg, q.dataset))
        req = GenRequest(prompt, max_tokens=cfg.max_tokens, temperature=cfg.temperature, seed=cfg.seed,
                         stop=("\nQuestion:",))
        r = (batcher or backend).generate([req])[0]
        return dict(qid=q.id, source=source, dataset=q.dataset, question=q.question, text=r.texts[0].strip(),
                    model=cfg.model, prompt=r.rendered_prompt, params=asdict(req) | {"backend": backend.describe()},
                    tokens=r.completion_tokens[0], seconds=r.seconds, extra=q.extra)

    with batched(backend, cfg.concurrency) as (concurrency, batcher):
        run_items(qs, lambda q: q.id, done, one, store.save_answer, progress, concurrency,
                  lambda row: {"qid": row["qid"]}, batcher)
    return store


def import_answers(path: str | Path, source: str, run_dir: str | Path) -> int:
    """Import answers from CSV/JSONL with columns question_id (or id), answer, optional question and dataset."""
    path = Path(path)
    if path.suffix.lower() == ".jsonl":
        rows = list(read_jsonl(path))
    elif path.suffix.lower() == ".csv":
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            rows = [(reader.line_num, row) for row in reader]
    else:
        raise DataError(path, "answers must be a .csv or .jsonl file")
    store = Store(run_dir)
    n = 0
    for line, row in rows:
        qid = row.get("question_id") or row.get("id")
        if not qid:
            raise DataError(path, "missing field", line=line, field="question_id")
        text = row.get("answer")
        if not text or not str(text).strip():
            raise DataError(path, "missing answer", line=line, record=str(qid), field="answer")
        store.save_answer(dict(qid=str(qid), source=source, dataset=row.get("dataset") or "", question=row.get("question") or "",
                               text=str(text).strip(), model=None, prompt=None,
                               params={"imported_from": str(path.resolve()), "line": line}, tokens=None, seconds=None,
                               extra={k: v for k, v in row.items() if k not in ("question_id", "id", "answer", "question")}))
        n += 1
    return n

