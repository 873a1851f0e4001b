"""The eval core: a task's samples, a solver that answers each, scorers that judge each answer, one run loop
(`run_eval`) with exact resume, per-sample seeds and batching across samples in flight, and one store per run.

    from clinqa.eval import EvalConfig, run_eval
    store = run_eval("medqa", "smollm2-135m-instruct", EvalConfig(strategy="cot", limit=20))

Where things are: `sample.py` (Sample, Score), `solvers.py`, `scorers.py`, `healthbench.py` (HealthBench's grader),
`context.py` (what a solver sees), `run.py` (the loop's plan), `loop.py` (the worker loop), `batching.py`,
`recorders.py` (where finished samples go: results, answer sources, ratings), `store.py`, `provenance.py`. The multiple-choice strategies themselves are in `clinqa.strategies`.
"""

from clinqa.eval.config import EvalConfig, question_order
from clinqa.eval.context import SampleContext
from clinqa.eval.run import plan_samples, run_eval
from clinqa.eval.recorders import AnswerRecorder, RatingRecorder, ResultRecorder
from clinqa.eval.sample import Sample, Score, as_sample
from clinqa.eval.scorers import ChoiceScorer
from clinqa.eval.solvers import ChatSolver, GivenCompletions, LongformSolver, StrategySolver
from clinqa.eval.store import Store

__all__ = ["EvalConfig", "run_eval", "plan_samples", "question_order", "Sample", "Score", "as_sample", "SampleContext",
           "ChoiceScorer", "ChatSolver", "GivenCompletions", "LongformSolver", "StrategySolver", "Store",
           "ResultRecorder", "AnswerRecorder", "RatingRecorder"]
