"""The multiple-choice benchmark runner: dataset + exemplars + strategy + model -> results store.

A run is identified by its configuration: the same command maps to the same run directory, finds the questions it
already finished and resumes with the rest. Seeds are derived per (question, stage), so a resumed run produces exactly
the numbers an uninterrupted run would.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from clinqa.data.records import MCQuestion
from clinqa.data.registry import load
from clinqa.models.base import Backend, GenRequest, GenResult
from clinqa.strategies import StrategyConfig, make_strategy
from clinqa.strategies.adaptive import AdaptiveRule
from clinqa.strategies.exemplars import FixedSelector, default_k, default_pool, knn_pool, read_exemplar_file
from clinqa.store import Store


@dataclass
class BenchConfig:
    dataset: str = "medqa"
    split: str | None = None
    strategy: str = "cot"
    model: str = "smollm2-135m-instruct"
    limit: int | None = None
    random_subset: bool = False        # take a seeded random subset of `limit` questions instead of the first ones
    k_shot: int | None = None
    n_samples: int = 11
    n_refine: int = 33
    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 256
    seed: int = 1234
    exemplars: str | None = None       # a JSONL file of exemplars, replacing the default pool
    chat_template: bool | None = None
    adaptive: bool = False             # SC/ER: draw in batches and stop early (see strategies/adaptive.py)
    adaptive_batch: int = 4
    stop_rule: str = "beta"
    confidence: float = 0.95
    data_dir: str | None = None
    run_dir: str | None = None
    concurrency: int = 1               # questions in flight at once (for servers); results do not depend on it
    exclude_trained: str | None = None # a tuned model dir (or its training_ids.json): skip the questions it trained on

    def identity(self) -> dict:
        """The fields that define a run's results (not where it is stored or read from)."""
        d = asdict(self)
        drop = ["run_dir", "data_dir", "concurrency"] + ([] if self.adaptive else ["adaptive", "adaptive_batch", "stop_rule", "confidence"])
        for k in drop:
            d.pop(k)
        return d

    def strategy_config(self) -> StrategyConfig:
        rule = AdaptiveRule(self.adaptive_batch, self.stop_rule, self.confidence) if self.adaptive else None
        return StrategyConfig(self.k_shot, self.n_samples, self.n_refine, self.temperature, self.top_p, self.max_tokens,
                              self.seed, rule)

    def default_run_dir(self, root: str | Path = "runs") -> Path:
        ident = json.dumps(self.identity(), sort_keys=True)
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.model.split("/")[-1])[:40]
        h = hashlib.sha256(ident.encode()).hexdigest()[:8]
        return Path(root) / f"{self.dataset}-{self.split or 'default'}-{self.strategy}-{slug}-{h}"


def derive_seed(base: int, qid: str, stage: str) -> int:
    return int(hashlib.sha256(f"{base}:{qid}:{stage}".encode()).hexdigest()[:8], 16)


class QuestionContext:
    """What a strategy sees for one question: generation and scoring that go through the store's cache."""

    def __init__(self, store: Store, backend: Backend, qid: str, base_seed: int):
        self.store, self.backend, self.qid, self.base_seed = store, backend, qid, base_seed

    def seed(self, stage: str) -> int:
        return derive_seed(self.base_seed, self.qid, stage)

    def generate(self, stage: str, request: GenRequest) -> GenResult:
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
    exemplar_ids: set[str] = field(default_factory=set)
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
        questions = load(cfg.dataset, cfg.split, cfg.data_dir)
    ids = {e.id for e in selector_pool if e.dataset == cfg.dataset} | trained_ids(cfg.exclude_trained)
    kept = [q for q in questions if q.id not in ids]
    if cfg.limit is not None and cfg.random_subset:
        kept = sorted(random.Random(cfg.seed).sample(kept, min(cfg.limit, len(kept))), key=kept.index)
    elif cfg.limit is not None:
        kept = kept[:cfg.limit]
    return Plan(kept, ids, len(questions) - len([q for q in questions if q.id not in ids]))


def build_selector(cfg: BenchConfig, strategy, sample_q: MCQuestion):
    n_opts = len(sample_q.options)
    if cfg.exemplars:
        pool = read_exemplar_file(Path(cfg.exemplars), n_opts)
    elif getattr(strategy, "selector", None) == "knn":
        pool = knn_pool(cfg.dataset, cfg.data_dir)
    else:
        pool = default_pool(cfg.dataset, n_opts, strategy.needs_explanations, cfg.data_dir)
    if getattr(strategy, "selector", None) == "knn":
        from clinqa.models.resolve import cache_dir
        from clinqa.strategies.knn import KNNSelector
        return KNNSelector(pool, cache=cache_dir() / "embeddings"), pool
    return FixedSelector(pool), pool


ProgressFn = Callable[[int, int, dict], None]


def run_bench(cfg: BenchConfig, backend: Backend | None = None, progress: ProgressFn | None = None,
              runs_root: str | Path = "runs") -> Store:
    """Run (or resume) a benchmark; returns the store holding every result."""
    from clinqa.models.resolve import load_model

    strategy = make_strategy(cfg.strategy, cfg.strategy_config())
    questions = load(cfg.dataset, cfg.split, cfg.data_dir)
    selector, pool = build_selector(cfg, strategy, questions[0])
    plan = plan_questions(cfg, pool, questions)
    store = Store(cfg.run_dir or cfg.default_run_dir(runs_root))
    done = store.done_ids()
    todo = [(i, q) for i, q in enumerate(plan.questions) if q.id not in done]
    if todo and backend is None:
        backend = load_model(cfg.model, chat_template=cfg.chat_template)
    overlap = len({q.id for q in plan.questions} & trained_ids(cfg.model))
    if overlap:
        warnings.warn(f"contamination: {overlap} of the {len(plan.questions)} evaluated questions are in the training data "
                      f"of {cfg.model} (its training_ids.json); add --exclude-trained {cfg.model} to evaluate on the "
                      "held-out rest", stacklevel=2)
    store.init_run(store.dir.name, cfg.identity(), {**(backend.describe() if backend else {}), "trained_overlap": overlap})
    k = cfg.k_shot if cfg.k_shot is not None else default_k(cfg.dataset, strategy.needs_explanations)
    total, finished = len(plan.questions), len(plan.questions) - len(todo)
    if progress:
        progress(finished, total, {})
    def one(position: int, q: MCQuestion) -> dict:
        t0 = time.perf_counter()
        exemplars = selector.select(q, k) if k > 0 else []
        out = strategy.run(q, exemplars, QuestionContext(store, backend, q.id, cfg.seed))
        return dict(
            qid=q.id, position=position, dataset=q.dataset, subject=q.subject, gold=q.answer,
            prediction=out.prediction, correct=out.prediction == q.answer, n_samples=len(out.samples) or 1,
            n_unparsed=out.n_unparsed, tokens=out.tokens, seconds=time.perf_counter() - t0, votes=out.votes,
            samples=[asdict(s) for s in out.samples], prompts=out.prompts, scores=out.scores,
            meta={**out.meta, "exemplars": [e.id for e in exemplars], "question": q.question, "options": q.options})

    def finish(row: dict):
        nonlocal finished
        store.save_result(row)
        finished += 1
        if progress:
            progress(finished, total, {"qid": row["qid"], "prediction": row["prediction"], "gold": row["gold"]})

    if cfg.concurrency <= 1:
        for position, q in todo:
            finish(one(position, q))
        return store
    pool = ThreadPoolExecutor(max_workers=cfg.concurrency)
    try:
        for fut in as_completed([pool.submit(one, p, q) for p, q in todo]):
            finish(fut.result())
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return store
