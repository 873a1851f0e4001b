"""The settings of one evaluation run (`EvalConfig`, what `clinqa bench` and `run_eval` take), which of them make a
run's identity, and the order in which a task's samples are taken.

A run is identified by its configuration: the same command maps to the same run directory, finds the samples it
already finished and resumes with the rest. Samples are taken in a seeded random order (or by id), never in file
order, which for some files is sorted by the gold label (PubMedQA's test set). `--limit` is not part of a run's
identity: the first N samples of that order are a prefix of the first 2N, so a larger `--limit` extends a finished
run.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from clinqa.models.resolve import DTYPES, check_capabilities
from clinqa.models.spec import ModelSpec
from clinqa.prompts import get_protocol
from clinqa.strategies import STRATEGIES, StrategyConfig
from clinqa.strategies.adaptive import AdaptiveRule


@dataclass
class EvalConfig:
    """The settings of one run: `clinqa bench` and `run_eval` (every option of the command is one field here)."""

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
        d["model"] = ModelSpec.parse(d["model"]).identity()           # CPU threads do not change results
        return d

    def validate(self) -> None:
        """Refuse impossible values with a one-line message naming the option, before any data or model loads."""
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
        task = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.dataset)[-60:]
        return Path(root) / f"{task}-{self.split or 'default'}-{self.strategy}-{slug}-{h}"


ORDERS = ("random", "id", "file")


def question_order(questions: list, order: str, seed: int) -> list:
    """Samples (any records with an `id`) in the run's order: a seeded shuffle keyed by id (stable when the file grows or is reordered), or
    by id in natural order. Multiple choice never runs in file order, which may be sorted by the gold label; "file" keeps
    the set's own order for long-form answers (`clinqa answer`, where a study's set is ordered by its author)."""
    if order == "file":
        return list(questions)
    if order == "id":
        return sorted(questions, key=lambda q: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", q.id)])
    return sorted(questions, key=lambda q: hashlib.sha256(f"{seed}:{q.id}".encode()).hexdigest())


def trained_ids(model_or_file: str | None) -> set[str]:
    """Record ids a model tuned by `clinqa tune` was trained on (empty for any other model)."""
    if not model_or_file:
        return set()
    p = Path(model_or_file)
    f = p / "training_ids.json" if p.is_dir() else p
    if f.name != "training_ids.json" or not f.is_file():
        return set()
    return {i for ids in json.loads(f.read_text()).values() for i in ids}
