"""What a solver and a scorer see for one sample: seeded, cached model calls.

Every call is stored under (sample id, stage) in the run's store before the sample finishes, so a run killed
mid-sample reuses what it had (ER's stage 1, a HealthBench reply, graded criteria) and seeds derived from
(run seed, sample id, stage) make a resumed run produce exactly what an uninterrupted one would.
- `generate(stage, request)`: the model under test, one request per named stage;
- `loglikelihood(stage, pairs)`: option scores;
- `grader`: the grading model as a `generate(requests)` channel; each request is cached under a stage named by its
  own content (prompt, seed, ...), so grading code written against a plain backend resumes too.
`model` and `grader` are the backends themselves, or channels of the run's batcher that send the requests of many
samples in flight together.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict
from typing import Sequence

from clinqa.eval.store import Store
from clinqa.eval.loop import derive_seed
from clinqa.models.base import GenRequest, GenResult


class CachedChannel:
    """`generate(requests)` on a backend, each request answered from the store when it was made before."""

    def __init__(self, store: Store, qid: str, backend, prefix: str):
        self.store, self.qid, self.backend, self.prefix = store, qid, backend, prefix

    def __getattr__(self, name):                    # capabilities and name are the backend's
        return getattr(self.backend, name)

    def stage(self, request: GenRequest) -> str:
        key = json.dumps(asdict(request), sort_keys=True, default=str)
        return f"{self.prefix}:{hashlib.sha256(key.encode()).hexdigest()[:16]}"

    def generate(self, requests: Sequence[GenRequest]) -> list[GenResult]:
        stages = [self.stage(r) for r in requests]
        out = [self.store.cached_generation(self.qid, s, r) for s, r in zip(stages, requests)]
        todo = [i for i, res in enumerate(out) if res is None]
        if todo:
            for i, res in zip(todo, self.backend.generate([requests[i] for i in todo])):
                self.store.save_generation(self.qid, stages[i], res, requests[i])
                out[i] = res
        return out


class SampleContext:
    def __init__(self, store: Store, model, qid: str, base_seed: int, grader=None):
        self.store, self.model, self.qid, self.base_seed = store, model, qid, base_seed
        self.grader = CachedChannel(store, qid, grader if grader is not None else model, "grade")
        self.tokens = 0                  # completion tokens of the model's replies to this sample

    def seed(self, stage: str) -> int:
        return derive_seed(self.base_seed, self.qid, stage)

    def generate(self, stage: str, request: GenRequest) -> GenResult:
        result = self.store.cached_generation(self.qid, stage, request)
        if result is None:
            result = self.model.generate([request])[0]
            self.store.save_generation(self.qid, stage, result, request)
        self.tokens += sum(result.completion_tokens)
        return result

    def loglikelihood(self, stage: str, pairs: Sequence[tuple[str, str]]) -> list[float]:
        cached = self.store.cached_generation(self.qid, stage)
        if cached is not None:
            return [float(t) for t in cached.texts]
        t0 = time.perf_counter()
        scores = self.model.loglikelihood(pairs)
        res = GenResult([repr(s) for s in scores], [0] * len(scores), 0, time.perf_counter() - t0,
                        rendered_prompt=pairs[0][0] if pairs else "")
        self.store.save_generation(self.qid, stage, res, GenRequest(prompt=pairs[0][0] if pairs else ""))
        return scores
