"""The plan file's schema (pydantic): models, multiple-choice tasks x strategies with budgets, long-form sets with
their answer sources, graders and juries, and the human study to create. Unknown keys are errors, so a typo never
silently falls back to a default. Loading (with line numbers) is `clinqa.plan.load`."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

KINDS = ("physician", "lay", "pairwise")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelSpec(Strict):
    name: str                                   # how the rest of the plan refers to it (and the answer source name)
    spec: str                                   # any model spec clinqa accepts (name, path, hub id, openai:m@url, ...)
    gpus: Optional[float] = None                # per cell on Ray; None: 0 for servers (openai:), else 1 if the cluster has GPUs
    concurrency: Optional[int] = Field(None, ge=1)
    dtype: str = "auto"


class Retries(Strict):
    tries: int = Field(3, ge=1)                 # attempts per cell, the first included
    backoff_s: float = Field(5.0, ge=0)         # wait before try n+1: backoff_s * 2**(n-1)


class StrategySpec(Strict):
    name: str                                   # fewshot, cot, sc, er, ... (clinqa's strategies)
    n_samples: int = Field(11, ge=1)            # SC paths / ER stage-1 paths
    n_refine: int = Field(33, ge=1)             # ER stage-2 refinements
    k_shot: Optional[int] = Field(None, ge=0)   # None: the task's default (5; PubMedQA 3)
    temperature: Optional[float] = Field(None, ge=0)
    max_tokens: Optional[int] = Field(None, ge=1)
    tasks: Optional[list[str]] = None           # only these tasks (default: all of the section's)


class MultipleChoice(Strict):
    tasks: list[str]
    strategies: list[StrategySpec]
    models: Optional[list[str]] = None          # default: every model of the plan
    limit: Optional[int] = Field(None, ge=1)    # first N questions of each task (the run's seeded order)
    split: Optional[str] = None
    protocol: str = "medpalm2"
    max_tokens: int = Field(256, ge=1)
    temperature: float = Field(0.7, ge=0)
    seed: int = 1234


class AnswerSource(Strict):
    model: Optional[str] = None                 # a model of the plan, answering with the paper's prompt
    import_: Optional[str] = Field(None, alias="import")   # a CSV/JSONL of answers written elsewhere (physicians)
    source: Optional[str] = None                # the source's name (default: the model's name)
    optional: bool = False                      # an import whose file is missing is skipped (reported), not an error

    @model_validator(mode="after")
    def one_kind(self):
        if (self.model is None) == (self.import_ is None):
            raise ValueError("give exactly one of `model` or `import`")
        if self.import_ is not None and not self.source:
            raise ValueError("an imported source needs a `source` name (e.g. physician)")
        return self

    @property
    def name(self) -> str:
        return self.source or self.model or ""


class LongformSet(Strict):
    task: str                                   # a long-form task (multimedqa140, adversarial_general, ...)
    name: Optional[str] = None                  # the set's run directory name (default: the task)
    sources: Optional[list[AnswerSource]] = None  # default: the section's sources
    limit: Optional[int] = Field(None, ge=1)
    optional: bool = False                      # skip (reported as unavailable) when the task does not exist here

    @property
    def key(self) -> str:
        return self.name or self.task.replace(":", "_")


class Longform(Strict):
    sets: list[LongformSet]
    sources: list[AnswerSource] = Field(default_factory=list)
    max_tokens: int = Field(384, ge=1)
    temperature: float = Field(0.0, ge=0)
    seed: int = 1234


class Grader(Strict):
    name: Optional[str] = None
    models: list[str] = Field(min_length=1)     # one grader, or a jury of several
    kinds: list[Literal["physician", "lay", "pairwise"]] = Field(default_factory=lambda: ["physician"])
    sources: Optional[list[str]] = None         # independent: these sources (default all); pairwise: exactly two
    sets: Optional[list[str]] = None            # default: every long-form set
    retries: int = Field(3, ge=0)
    rubric: Optional[str] = None

    @property
    def label(self) -> str:
        return self.name or "+".join(self.models)


class Study(Strict):
    name: str
    db: Optional[str] = None                    # rating database URL (default: sqlite file in the plan root)
    sets: Optional[list[str]] = None            # long-form sets whose answers are rated (default: all)
    sources: list[str] = Field(min_length=1)    # pairwise compares the first two
    physician: int = Field(3, ge=0)             # raters per answer
    lay: int = Field(0, ge=0)
    pairwise: int = Field(0, ge=0)              # physician raters per pair
    raters: dict[Literal["physician", "lay"], list[str]] = Field(default_factory=dict)  # accounts created if missing
    select_budget: Optional[int] = Field(None, ge=1)   # `judge select`: expected answers sent to physicians
    human_ratings: Optional[str] = None         # exported human ratings (long table) for the report's judge cards
    seed: int = 0


class Plan(Strict):
    name: str
    root: Optional[str] = None                  # run root every node sees (default: runs/plan-<name>)
    data_dir: Optional[str] = None
    retries: Retries = Field(default_factory=Retries)
    cell_timeout_s: Optional[float] = Field(None, gt=0)   # Ray: a cell running longer is cancelled and retried
    models: list[ModelSpec] = Field(min_length=1)
    multiple_choice: Optional[MultipleChoice] = None
    longform: Optional[Longform] = None
    graders: list[Grader] = Field(default_factory=list)
    study: Optional[Study] = None
