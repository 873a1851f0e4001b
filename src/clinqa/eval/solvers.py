"""Solvers: how a model answers one sample. A solver is any callable `solver(sample, ctx) -> Outcome | str` (a string
is taken as the completion); `ctx` (`eval.context.SampleContext`) gives it seeded, cached model calls.

- `StrategySolver`: multiple choice, one of the strategies in `clinqa.strategies` (fewshot, cot, sc, er, loglik, knn,
  shuffle; adaptive SC/ER), with the task's exemplars chosen per question.
- `ChatSolver`: sends the sample's conversation as chat messages (HealthBench) and returns the reply.
- `LongformSolver`: the paper's long-form prompt (each record's own audience; its instruction against bias where the
  record's set asks for it), one answer per question, greedy by default (`clinqa answer`, long-form tasks).
- `GivenCompletions`: no model call; the completion recorded for each sample (a file, or the task's ideal completion),
  so a scorer can grade answers written elsewhere.
A task names its own solver (`Task.solver`); otherwise `default_solver` picks one by the task's kind.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from clinqa.data.errors import DataError
from clinqa.eval.config import EvalConfig
from clinqa.eval.sample import Sample, as_sample
from clinqa.models.base import GenRequest
from clinqa.models.resolve import cache_dir
from clinqa.prompts import longform_prompt
from clinqa.strategies import Strategy, make_strategy
from clinqa.strategies.base import Outcome
from clinqa.strategies.exemplars import FixedSelector, default_pool, knn_pool, read_exemplar_file
from clinqa.strategies.knn import KNNSelector
from clinqa.tasks import Task, find_task


class StrategySolver:
    """A multiple-choice strategy with its exemplar selector: k exemplars per question, then the strategy's run."""

    def __init__(self, strategy: Strategy, selector, k: int, pool: list):
        self.strategy, self.selector, self.k, self.pool = strategy, selector, k, pool

    @classmethod
    def for_task(cls, task: Task, cfg: EvalConfig, first) -> "StrategySolver":
        strategy = make_strategy(cfg.strategy, cfg.strategy_config())
        knn = getattr(strategy, "selector", None) == "knn"
        n_opts = len(first.options)
        if cfg.exemplars:
            pool = read_exemplar_file(Path(cfg.exemplars), n_opts)
        elif knn:
            pool = knn_pool(task, cfg.data_dir)
        else:
            pool = default_pool(task, n_opts, strategy.needs_explanations, cfg.data_dir)
        selector = KNNSelector(pool, cache=cache_dir() / "embeddings") if knn else FixedSelector(pool)
        k = cfg.k_shot if cfg.k_shot is not None else strategy.protocol.default_k(task, strategy.needs_explanations)
        return cls(strategy, selector, k, pool)

    @property
    def chat_template(self) -> bool:
        return self.strategy.protocol.chat_template

    def excluded_ids(self, task: Task, records: list) -> set[str]:
        """Exemplars are never evaluated."""
        return {e.id for e in self.pool if e.dataset == task.name}

    def __call__(self, sample: Sample, ctx) -> Outcome:
        q = sample.input
        exemplars = self.selector.select(q, self.k) if self.k > 0 else []
        out = self.strategy.run(q, exemplars, ctx)
        out.meta = {**out.meta, "exemplars": [e.id for e in exemplars], "question": q.question, "options": q.options}
        return out


@dataclass
class ChatSolver:
    """The sample's conversation sent as chat messages; the reply is the completion."""

    max_tokens: int = 512
    temperature: float = 0.0
    chat_template = None                 # the backend's default

    def identity(self) -> dict:
        return {"solver": "chat", "max_tokens": self.max_tokens, "temperature": self.temperature}

    def __call__(self, sample: Sample, ctx) -> Outcome:
        r = ctx.generate("reply", GenRequest.chat(sample.messages, max_tokens=self.max_tokens,
                                                  temperature=self.temperature, seed=ctx.seed("reply")))
        return Outcome(prompts={"reply": r.rendered_prompt}, completion=r.texts[0])


@dataclass
class LongformSolver:
    """One long-form answer with the paper's prompt. A record's own set chooses the audience (a MultiMedQA 140 record
    keeps LiveQA's or MedicationQA's) and whether the instruction against bias is added (`debias` None: on for the
    adversarial and equity sets, or when the run's task asks for it: `task_debias`)."""

    max_tokens: int = 384
    temperature: float = 0.0
    debias: bool | None = None
    task_debias: bool = False
    stage: str = "answer"              # the generation cache's stage (one per answer source sharing a store)
    chat_template = None               # the backend's default

    def identity(self) -> dict:
        return {"solver": "longform", "max_tokens": self.max_tokens, "temperature": self.temperature,
                "debias": self.debias}

    def prompt(self, sample: Sample) -> str:
        task = find_task(sample.metadata.get("dataset") or "")
        debias = self.debias if self.debias is not None else bool(task and task.debias) or self.task_debias
        return longform_prompt(sample.text, task.prompt_variant if task else "healthsearchqa", debias)

    def __call__(self, sample: Sample, ctx) -> Outcome:
        req = GenRequest(self.prompt(sample), max_tokens=self.max_tokens, temperature=self.temperature,
                         seed=ctx.seed(self.stage), stop=("\nQuestion:",))
        r = ctx.generate(self.stage, req)
        extra = {k: v for k, v in sample.metadata.items() if k != "dataset"}
        return Outcome(prompts={self.stage: r.rendered_prompt}, completion=r.texts[0].strip(),
                       meta={"params": asdict(req), "extra": extra})


@dataclass
class GivenCompletions:
    """Completions written elsewhere, by sample id; where none is given, the sample's `ideal_completion`."""

    completions: dict[str, str] | None = None
    source: str = "ideal"
    chat_template = None
    needs_model = False

    def identity(self) -> dict:
        return {"solver": "given", "source": self.source}

    def excluded_ids(self, task: Task, records: list) -> set[str]:
        """Samples with no completion to grade are left out."""
        return {r.id for r in records if not (self.completions or {}).get(r.id)
                and not as_sample(r).metadata.get("ideal_completion")}

    def __call__(self, sample: Sample, ctx) -> Outcome:
        text = (self.completions or {}).get(sample.id) or sample.metadata.get("ideal_completion")
        if text is None:
            raise DataError(self.source, "no completion for this sample", record=sample.id, field="completion")
        return Outcome(completion=text)


def default_solver(task: Task, cfg: EvalConfig, first):
    """The task's own solver, or by kind: a strategy for multiple choice, the paper's long-form prompt for long-form
    questions, the conversation for everything else."""
    if task.solver is not None:
        return task.solver
    if task.kind == "mc":
        return StrategySolver.for_task(task, cfg, first)
    if task.long_form:                  # long-form questions (K-QA's are then judged against statements)
        return LongformSolver(max_tokens=cfg.max_tokens, temperature=0.0, task_debias=task.debias)
    return ChatSolver(max_tokens=cfg.max_tokens, temperature=0.0)
