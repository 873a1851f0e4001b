"""The multiple-choice benchmark runner: dataset + exemplars + strategy + model -> results store.

A run is identified by its configuration: the same command maps to the same run directory, finds the questions it
already finished and resumes with the rest. Seeds are derived per (question, stage), so a resumed run produces exactly
the numbers an uninterrupted run would. Questions are taken in a seeded random order (or by id), never in file order,
which for some files is sorted by the gold label (PubMedQA's test set). `--limit` is not part of a run's identity: the
first N questions of that order are a prefix of the first 2N, so a larger `--limit` extends a finished run.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

from clinqa.batching import batched
from clinqa.data.records import MCQuestion
from clinqa.loop import ProgressFn, derive_seed, run_items
from clinqa.models.base import Backend, GenRequest, GenResult
from clinqa.models.resolve import DTYPES
from clinqa.strategies import StrategyConfig, make_strategy
from clinqa.strategies.adaptive import AdaptiveRule
from clinqa.strategies.exemplars import FixedSelector, default_pool, knn_pool, read_exemplar_file
from clinqa.store import Store
from clinqa.tasks import Task, get_task


@dataclass
class BenchConfig:
    dataset: str = "medqa"
    split: str | None = None
    strategy: str = "cot"
    model: str = "smollm2-135m-instruct"
    dtype: str = "auto"                # hf backend weights: auto (float32 on CPU, bfloat16 on GPUs), bfloat16, float16, float32
    limit: int | None = None
    order: str = "random"              # question order: "random" (seeded by `seed`) or "id"; --limit takes a prefix
    protocol: str = "medpalm2"         # prompt protocol: medpalm2 (the paper's), lm-eval, simple-evals
    k_shot: int | None = None
    n_samples: int = 11
    n_refine: int = 33
    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 256
    seed: int = 1234
    exemplars: str | None = None       # a JSONL file of exemplars, replacing the default pool
    chat_template: bool | None = None
    er_with_answers: bool = False      # ER stage 2 shows stage-1 reasonings with their answer statements
    adaptive: bool = False             # SC/ER: draw in batches and stop early (see strategies/adaptive.py)
    adaptive_batch: int = 4
    stop_rule: str = "beta"
    confidence: float = 0.95
    data_dir: str | None = None
    run_dir: str | None = None
    concurrency: int | None = None     # questions in flight, their requests batched (None: the backend's default)
    exclude_trained: str | None = None # a tuned model dir (or its training_ids.json): skip the questions it trained on
    grader: str | None = None          # rubric tasks (HealthBench): the grading model (default: --model)

    def identity(self) -> dict:
        """The fields that define a run's results (not where it is stored or read from)."""
        d = asdict(self)
        drop = ["run_dir", "data_dir", "concurrency", "limit"] + ([] if self.grader else ["grader"])
        drop += [] if self.adaptive else ["adaptive", "adaptive_batch", "stop_rule", "confidence"]
        drop += [] if self.strategy == "er" else ["er_with_answers"]
        drop += [] if self.dtype != "auto" else ["dtype"]
        for k in drop:
            d.pop(k)
        d["model"] = re.sub(r"[?&]threads=\d+", "", d["model"])     # CPU threads do not change results
        return d

    def validate(self) -> None:
        """Refuse impossible values with a one-line message naming the option, before any data or model loads."""
        from clinqa.prompts import get_protocol
        from clinqa.strategies import STRATEGIES
        checks = [("limit", self.limit is None or self.limit >= 1, "must be at least 1"),
                  ("k-shot", self.k_shot is None or self.k_shot >= 0, "must be 0 or more"),
                  ("n-samples", self.n_samples >= 1, "must be at least 1"),
                  ("n-refine", self.n_refine >= 1, "must be at least 1"),
                  ("temperature", self.temperature >= 0, "must be 0 (greedy) or more"),
                  ("top-p", 0 < self.top_p <= 1, "must be in (0, 1]"),
                  ("max-tokens", self.max_tokens >= 1, "must be at least 1"),
                  ("concurrency", self.concurrency is None or self.concurrency >= 1, "must be at least 1"),
                  ("order", self.order in ORDERS, f"must be one of {', '.join(ORDERS)}"),
                  ("dtype", self.dtype in DTYPES, f"must be one of {', '.join(DTYPES)}"),
                  ("strategy", self.strategy in STRATEGIES, f"must be one of {', '.join(STRATEGIES)}")]
        for name, ok, why in checks:
            if not ok:
                raise ValueError(f"--{name} {getattr(self, name.replace('-', '_'))!r}: {why}")
        get_protocol(self.protocol).check(self.strategy, self.k_shot)
        from clinqa.models.resolve import check_capabilities
        check_capabilities(self.model, loglikelihood=STRATEGIES[self.strategy].needs_loglikelihood)
        self.strategy_config()

    def strategy_config(self) -> StrategyConfig:
        rule = AdaptiveRule(self.adaptive_batch, self.stop_rule, self.confidence) if self.adaptive else None
        return StrategyConfig(self.k_shot, self.n_samples, self.n_refine, self.temperature, self.top_p, self.max_tokens,
                              self.seed, rule, self.er_with_answers, self.protocol)

    def default_run_dir(self, root: str | Path = "runs") -> Path:
        ident = json.dumps(self.identity(), sort_keys=True)
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.model.split("/")[-1])[:40]
        h = hashlib.sha256(ident.encode()).hexdigest()[:8]
        return Path(root) / f"{self.dataset}-{self.split or 'default'}-{self.strategy}-{slug}-{h}"


ORDERS = ("random", "id")


def question_order(questions: list[MCQuestion], order: str, seed: int) -> list[MCQuestion]:
    """Questions in the run's order: a seeded shuffle keyed by id (stable when the file grows or is reordered), or
    by id in natural order. Never file order, which may be sorted by the gold label."""
    if order == "id":
        return sorted(questions, key=lambda q: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", q.id)])
    return sorted(questions, key=lambda q: hashlib.sha256(f"{seed}:{q.id}".encode()).hexdigest())


class QuestionContext:
    """What a strategy sees for one question: generation and scoring that go through the store's cache."""

    def __init__(self, store: Store, backend: Backend, qid: str, base_seed: int):
        self.store, self.backend, self.qid, self.base_seed = store, backend, qid, base_seed

    def seed(self, stage: str) -> int:
        return derive_seed(self.base_seed, self.qid, stage)

    def generate(self, stage: str, request: GenRequest) -> GenResult:
        """`backend` is the model itself, or a `Batcher` that sends this request with those of other questions."""
        cached = self.store.cached_generation(self.qid, stage, request)
        if cached is not None:
            return cached
        result = self.backend.generate([request])[0]
        self.store.save_generation(self.qid, stage, result, request)
        return result

    def loglikelihood(self, stage: str, pairs: Sequence[tuple[str, str]]) -> list[float]:
        cached = self.store.cached_generation(self.qid, stage)
        if cached is not None:
            return [float(t) for t in cached.texts]
        t0 = time.perf_counter()
        scores = self.backend.loglikelihood(pairs)
        res = GenResult([repr(s) for s in scores], [0] * len(scores), 0, time.perf_counter() - t0,
                        rendered_prompt=pairs[0][0] if pairs else "")
        self.store.save_generation(self.qid, stage, res, GenRequest(prompt=pairs[0][0] if pairs else ""))
        return scores


@dataclass
class Plan:
    questions: list[MCQuestion]
    excluded: int = 0


def trained_ids(model_or_file: str | None) -> set[str]:
    """Record ids a model tuned by `clinqa tune` was trained on (empty for any other model)."""
    if not model_or_file:
        return set()
    p = Path(model_or_file)
    f = p / "training_ids.json" if p.is_dir() else p
    if f.name != "training_ids.json" or not f.is_file():
        return set()
    return {i for ids in json.loads(f.read_text()).values() for i in ids}


def plan_questions(cfg: BenchConfig, selector_pool: list[MCQuestion],
                   questions: list[MCQuestion] | None = None) -> Plan:
    if questions is None:
        questions = get_task(cfg.dataset).load(cfg.split, cfg.data_dir)
    ids = {e.id for e in selector_pool if e.dataset == cfg.dataset} | trained_ids(cfg.exclude_trained)
    kept = question_order([q for q in questions if q.id not in ids], cfg.order, cfg.seed)
    excluded = len(questions) - len(kept)
    return Plan(kept[:cfg.limit] if cfg.limit is not None else kept, excluded)


def build_selector(cfg: BenchConfig, strategy, task: Task, sample_q: MCQuestion):
    n_opts = len(sample_q.options)
    if cfg.exemplars:
        pool = read_exemplar_file(Path(cfg.exemplars), n_opts)
    elif getattr(strategy, "selector", None) == "knn":
        pool = knn_pool(task, cfg.data_dir)
    else:
        pool = default_pool(task, n_opts, strategy.needs_explanations, cfg.data_dir)
    if getattr(strategy, "selector", None) == "knn":
        from clinqa.models.resolve import cache_dir
        from clinqa.strategies.knn import KNNSelector
        return KNNSelector(pool, cache=cache_dir() / "embeddings"), pool
    return FixedSelector(pool), pool


def run_bench(cfg: BenchConfig, backend: Backend | None = None, progress: ProgressFn | None = None,
              runs_root: str | Path = "runs") -> Store:
    """Run (or resume) a benchmark; returns the store holding every result."""
    from clinqa.models.resolve import load_model

    cfg.validate()
    strategy = make_strategy(cfg.strategy, cfg.strategy_config())
    task = get_task(cfg.dataset)
    if task.kind != "mc":
        raise ValueError(f"task {task.name!r} is {task.kind}, not multiple choice: use `clinqa answer` for it")
    questions = task.load(cfg.split, cfg.data_dir)
    selector, pool = build_selector(cfg, strategy, task, questions[0])
    plan = plan_questions(cfg, pool, questions)
    store = Store(cfg.run_dir or cfg.default_run_dir(runs_root))
    store.planned = {q.id for q in plan.questions}
    done = store.done_ids()
    if any(q.id not in done for q in plan.questions) and backend is None:
        chat = cfg.chat_template if cfg.chat_template is not None else strategy.protocol.chat_template
        backend = load_model(cfg.model, chat_template=chat, dtype=cfg.dtype)
    overlap = len({q.id for q in plan.questions} & trained_ids(cfg.model))
    if overlap:
        warnings.warn(f"contamination: {overlap} of the {len(plan.questions)} evaluated questions are in the training data "
                      f"of {cfg.model} (its training_ids.json); add --exclude-trained {cfg.model} to evaluate on the "
                      "held-out rest", stacklevel=2)
    store.init_run(store.dir.name, cfg.identity(), {**(backend.describe() if backend else {}), "trained_overlap": overlap})
    k = cfg.k_shot if cfg.k_shot is not None else strategy.protocol.default_k(task, strategy.needs_explanations)

    def one(item: tuple[int, MCQuestion]) -> dict:
        position, q = item
        t0 = time.perf_counter()
        exemplars = selector.select(q, k) if k > 0 else []
        out = strategy.run(q, exemplars, QuestionContext(store, batcher or backend, q.id, cfg.seed))
        return dict(
            qid=q.id, position=position, dataset=q.dataset, subject=q.subject, gold=q.answer,
            prediction=out.prediction, correct=out.prediction == q.answer, n_samples=len(out.samples) or 1,
            n_unparsed=out.n_unparsed, tokens=out.tokens, seconds=time.perf_counter() - t0, votes=out.votes,
            samples=[asdict(s) for s in out.samples], prompts=out.prompts, scores=out.scores,
            meta={**out.meta, "exemplars": [e.id for e in exemplars], "question": q.question, "options": q.options})

    with batched(backend, cfg.concurrency) as (concurrency, batcher):
        run_items(list(enumerate(plan.questions)), lambda item: item[1].id, done, one, store.save_result, progress,
                  concurrency, lambda row: {"qid": row["qid"], "prediction": row["prediction"], "gold": row["gold"]},
                  batcher=batcher)
    return store
