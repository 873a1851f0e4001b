"""What every strategy shares: its settings, the per-question context it runs in, and the outcome it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence

from clinqa.data.records import MCQuestion
from clinqa.models.base import GenRequest, GenResult
from clinqa.strategies.adaptive import AdaptiveRule  # noqa: F401  (type of StrategyConfig.adaptive)


@dataclass
class StrategyConfig:
    k_shot: int | None = None          # None: the dataset's default (5; PubMedQA 3)
    n_samples: int = 11                # SC paths, ER stage-1 paths, shuffle permutations
    n_refine: int = 33                 # ER stage-2 refinements
    temperature: float = 0.7           # the paper states no temperature; 0.7 is our default
    top_p: float = 1.0
    max_tokens: int = 256              # for reasoning; answer-only strategies use 16
    seed: int = 1234
    adaptive: "AdaptiveRule | None" = None   # None: always the full budget
    er_with_answers: bool = False      # ER stage 2 shows stage-1 reasonings with their answer statements
    protocol: str = "medpalm2"         # prompt protocol (prompts.PROTOCOLS): medpalm2, lm-eval, simple-evals


@dataclass
class Draw:
    """One sampled text of a strategy, with the answer read from it."""

    stage: str
    text: str
    answer: str | None                 # letter in the original option order, or None (unparseable)
    tokens: int
    order: list[str] | None = None     # display order of options when shuffled


@dataclass
class Outcome:
    """What a solver returns for one sample: for multiple choice the voted letter, for free text the completion."""

    prediction: str | None = None
    samples: list[Draw] = field(default_factory=list)
    votes: dict[str, int] = field(default_factory=dict)
    prompts: dict[str, str] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)   # loglik option scores
    meta: dict = field(default_factory=dict)
    completion: str = ""                # the reply, for solvers that answer in free text (chat, long-form)

    @property
    def tokens(self) -> int:
        return sum(s.tokens for s in self.samples)

    @property
    def n_unparsed(self) -> int:
        return sum(1 for s in self.samples if s.answer is None)


class RunContext(Protocol):
    """Given to a strategy by the runner: cached, seeded generation for one question."""

    def generate(self, stage: str, request: GenRequest) -> GenResult: ...
    def loglikelihood(self, stage: str, pairs: Sequence[tuple[str, str]]) -> list[float]: ...
    def seed(self, stage: str) -> int: ...


class Strategy:
    name = "base"
    needs_explanations = False          # exemplars must carry a rationale
    needs_loglikelihood = False         # the backend must score log-likelihoods (checked before the model loads)
    uses: tuple[str, ...] = ("k_shot",)  # the StrategyConfig settings it reads (reports list only these)

    def calls_per_question(self, n_options: int) -> int:
        """Model calls one question costs at the full budget: generations, or for loglik one scored option each."""
        return 1

    def __init__(self, config: StrategyConfig | None = None):
        from clinqa.prompts import get_protocol
        self.config = config or StrategyConfig()
        self.protocol = get_protocol(self.config.protocol)

    def run(self, q: MCQuestion, exemplars: Sequence[MCQuestion], ctx: RunContext) -> Outcome:
        raise NotImplementedError
