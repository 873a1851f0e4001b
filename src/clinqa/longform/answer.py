"""Long-form answers: generate them with the paper's prompt (greedy by default, as the paper), or import answers
written elsewhere (physicians, another system) so that rating studies can compare sources. Generating is the eval
core's run (`run_eval` with `eval.solvers.LongformSolver`, recorded per answer source by `eval.recorders.AnswerRecorder`):
every answer is stored with its provenance (model, prompt, parameters, seed, time); a run resumes after a kill.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from clinqa.data.errors import DataError
from clinqa.data.loaders.common import read_jsonl
from clinqa.eval.config import EvalConfig
from clinqa.eval.recorders import AnswerRecorder
from clinqa.eval.run import plan_samples, run_eval
from clinqa.eval.sample import Sample
from clinqa.eval.solvers import LongformSolver
from clinqa.eval.store import Store
from clinqa.models.base import Backend
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


def questions_for(cfg: AnswerConfig) -> list[Sample]:
    """The questions `run_answers` answers: the eval core's plan (`plan_samples`) of its run, the set's own order,
    the first `limit`."""
    return plan_samples(answer_run(cfg), task=answer_task(cfg))


def answer_task(cfg: AnswerConfig) -> Task:
    task = get_task(cfg.dataset)
    if task.kind == "mc":
        raise DataError(cfg.dataset, "this is a multiple-choice dataset; use `clinqa bench` for it", field="dataset")
    return task


def answer_run(cfg: AnswerConfig) -> EvalConfig:
    """The eval-core run behind `cfg`: the set taken in its file's order, so a larger `limit` extends a source."""
    return EvalConfig(dataset=cfg.dataset, split=cfg.split, model=cfg.model, limit=cfg.limit, order="file",
                      max_tokens=cfg.max_tokens, temperature=cfg.temperature, seed=cfg.seed,
                      chat_template=cfg.chat_template, data_dir=cfg.data_dir, run_dir=cfg.run_dir,
                      concurrency=cfg.concurrency)


def answer_solver(cfg: AnswerConfig, task: Task) -> LongformSolver:
    """The paper's long-form prompt under `cfg`; its stage names the source, so sources sharing a run directory keep
    their own generation cache."""
    return LongformSolver(cfg.max_tokens, cfg.temperature, cfg.debias, task.debias,
                          stage=f"answer:{cfg.source or cfg.model}")


def run_answers(cfg: AnswerConfig, backend: Backend | None = None,
                progress: Callable[[int, int, dict], None] | None = None) -> Store:
    """Answer the questions of `cfg.dataset` as source `cfg.source` through the eval core's run loop (`run_eval`):
    resumable by (source, question), `concurrency` questions in flight, the provenance recorded."""
    task = answer_task(cfg)
    recorder = AnswerRecorder(Store(cfg.run_dir), cfg.source or cfg.model, cfg.identity(), model=cfg.model)
    return run_eval(task, backend, answer_run(cfg), solver=answer_solver(cfg, task), scorers=[], progress=progress,
                    recorder=recorder)


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

