"""Scorers: how a sample's output is judged. A scorer is any callable `scorer(sample, outcome, ctx) -> Score` with a
`name` (its key in the stored scores; the function's name otherwise) and, optionally, `identity()`: what about it
changes its scores (a rubric, a grader prompt), so that a run refuses to resume under a changed scorer.
Scorers that ask a model set `needs_grader = True` and use `ctx.grader` (the run's grader: `--grader`, else the model
itself; cached and batched like the model's own calls; the grader's spec is then part of the run's identity).

- `ChoiceScorer`: the extracted letter against the gold letter (multiple choice accuracy).
- `clinqa.eval.healthbench.HealthBenchScorer`: HealthBench's rubric grader.
- `clinqa.eval.nli.NLIStatementScorer`: an NLI judge of a long-form answer against gold statements (K-QA).
A task names its own scorers (`Task.scorer`); otherwise `default_scorers` picks by the task's kind.
"""

from __future__ import annotations

from clinqa.eval.config import EvalConfig
from clinqa.eval.healthbench import HealthBenchScorer
from clinqa.eval.nli import NLIStatementScorer
from clinqa.eval.sample import Sample, Score
from clinqa.strategies.base import Outcome
from clinqa.tasks import Task


class ChoiceScorer:
    name = "choice"

    def __call__(self, sample: Sample, outcome: Outcome, ctx) -> Score:
        return Score(outcome.prediction == sample.target, outcome.prediction)


def scorer_name(scorer) -> str:
    return getattr(scorer, "name", None) or getattr(scorer, "__name__", type(scorer).__name__)


def default_scorers(task: Task, cfg: EvalConfig) -> list:
    """The task's own scorers, or by kind: letter accuracy for multiple choice, HealthBench's grader for rubric
    tasks, the NLI judge for long-form answers with gold statements, none for other long-form answers (they are rated
    afterwards: `clinqa autorate`, `clinqa rate`)."""
    if task.scorer is not None:
        return list(task.scorer) if isinstance(task.scorer, (list, tuple)) else [task.scorer]
    return {"mc": [ChoiceScorer()], "rubric": [HealthBenchScorer()],
            "nli": [NLIStatementScorer()]}.get(task.kind, [])
