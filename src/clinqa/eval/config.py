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
from dataclasses import asdict, dataclass, field
from pathlib import Path

from clinqa.models.resolve import DTYPES, check_capabilities
from clinqa.models.spec import ModelSpec
from clinqa.prompts import get_protocol
from clinqa.strategies import STRATEGIES, StrategyConfig
from clinqa.strategies.adaptive import AdaptiveRule


@dataclass
class EvalConfig:
    """The settings of one run: `clinqa bench` and `run_eval`. Every option of the command is one field here, its help
    in the field's metadata (`cli/options.py` makes the options)."""

    dataset: str = field(default="medqa", metadata={"flags": ("--task", "--dataset"), "help": "a task (`clinqa tasks "
                         "list`), path/to/file.py:task, module:task, or hf:<id>"})
    split: str | None = field(default=None, metadata={"help": "default: the task's evaluation split"})
    strategy: str = field(default="cot", metadata={"help": "fewshot, cot, sc, er, loglik, knn, shuffle"})
    model: str = field(default="smollm2-135m-instruct", metadata={"help": "model name, path, hub id or "
                       "<backend>:<model> (openai:<model>@<url>, vllm:..., llamacpp:...)"})
    dtype: str = field(default="auto", metadata={"help": "hf backend weights: auto (float32 on CPU; on GPUs bfloat16 "
                       "and device_map=auto over all GPUs), bfloat16, float16, float32"})
    limit: int | None = field(default=None, metadata={"help": "evaluate the first N questions of the run's order; a "
                              "larger N later extends the same run"})
    order: str = field(default="random", metadata={"help": "question order: random (seeded by --seed) or id; never "
                       "file order"})
    protocol: str = field(default="medpalm2", metadata={"help": "prompts: medpalm2 (the paper's), lm-eval "
                          "(lm-evaluation-harness 0.4 tasks), simple-evals (zero-shot, OpenAI simple-evals / "
                          "inspect_evals)"})
    k_shot: int | None = field(default=None, metadata={"help": "exemplars (default: the task's, e.g. 5; PubMedQA 3; "
                               "MMLU CoT 6)"})
    n_samples: int = field(default=11, metadata={"help": "SC paths / ER stage-1 paths / shuffle permutations"})
    n_refine: int = field(default=33, metadata={"help": "ER stage-2 refinements"})
    temperature: float = field(default=0.7, metadata={"help": "sampling temperature (the paper states none; 0.7 "
                               "default)"})
    top_p: float = field(default=1.0, metadata={"help": "nucleus sampling: keep the top tokens of this total "
                         "probability"})
    max_tokens: int = field(default=256, metadata={"help": "new tokens per generation"})
    seed: int = field(default=1234, metadata={"help": "seeds the question order and every sampled generation"})
    exemplars: str | None = field(default=None, metadata={"help": "JSONL of exemplars (question, options, answer, "
                                  "explanation), replacing the default pool"})
    chat_template: bool | None = field(default=None, metadata={"help": "default: the protocol's choice, else the "
                                       "model's template"})
    er_with_answers: bool = field(default=False, metadata={"flags": ("--er-with-answers/--er-without-answers",),
                                  "help": "ER stage 2 shows stage-1 reasonings with their answer statements "
                                  "(default: without, as the paper prints them)"})
    adaptive: bool = field(default=False, metadata={"help": "SC/ER: sample in batches and stop once the vote is "
                           "settled (strategies/adaptive.py)"})
    adaptive_batch: int = field(default=4, metadata={"help": "samples drawn per batch in adaptive mode"})
    stop_rule: str = field(default="beta", metadata={"help": "adaptive stopping: beta (Adaptive-Consistency) or "
                           "certain"})
    confidence: float = field(default=0.95, metadata={"help": "beta rule: stop when P(leader is the majority) >= "
                              "this"})
    data_dir: str | None = field(default=None, metadata={"help": "the data root (default: $CLINQA_DATA or "
                                 "../shared/data)"})
    run_dir: str | None = field(default=None, metadata={"help": "the run's directory (default: one named by the "
                                "run's configuration under --runs-root)"})
    concurrency: int | None = field(default=None, metadata={"help": "questions in flight at once; their requests "
                                    "reach the model in batches (default: the backend's: hf 16 on GPUs, 1 on CPUs; "
                                    "vllm 64; llamacpp 1); results do not depend on it"})
    exclude_trained: str | None = field(default=None, metadata={"help": "a `clinqa tune` output dir (or its "
                                        "training_ids.json): skip the questions it trained on"})
    grader: str | None = field(default=None, metadata={"help": "graded tasks (healthbench, kqa): the grading model "
                               "(default: --model)"})

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

    def validate(self, long_form: bool = False) -> None:
        """Refuse impossible values with a one-line message naming the option, before any data or model loads.
        `long_form`: the task is answered in prose, whose sets may also be taken in their file's order."""
        orders = ORDERS + (("file",) if long_form else ())
        checks = [("limit", self.limit is None or self.limit >= 1, "must be at least 1"),
                  ("k-shot", self.k_shot is None or self.k_shot >= 0, "must be 0 or more"),
                  ("n-samples", self.n_samples >= 1, "must be at least 1"),
                  ("n-refine", self.n_refine >= 1, "must be at least 1"),
                  ("temperature", self.temperature >= 0, "must be 0 (greedy) or more"),
                  ("top-p", 0 < self.top_p <= 1, "must be in (0, 1]"),
                  ("max-tokens", self.max_tokens >= 1, "must be at least 1"),
                  ("concurrency", self.concurrency is None or self.concurrency >= 1, "must be at least 1"),
                  ("order", self.order in orders, f"must be one of {', '.join(orders)}"),
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

    def default_run_dir(self, root: str | Path = "runs", solver: str | None = None) -> Path:
        """`<root>/<task>-<split>-<solver>-<model>-<hash of the identity>`; solver: the strategy (multiple choice) or
        the task's kind."""
        ident = json.dumps(self.identity(), sort_keys=True)
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.model.split("/")[-1])[:40]
        h = hashlib.sha256(ident.encode()).hexdigest()[:8]
        task = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.dataset)[-60:]
        return Path(root) / f"{task}-{self.split or 'default'}-{solver or self.strategy}-{slug}-{h}"


ORDERS = ("random", "id")          # and "file" for long-form sets (`validate(long_form=True)`)


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
