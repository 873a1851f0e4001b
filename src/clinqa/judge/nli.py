"""The NLI judge: for each (answer, statement) pair, does the answer entail the statement, contradict it, or neither?
K-QA's metrics are built from its verdicts (`clinqa.analysis.kqa`).

clinqa's one grader protocol (`clinqa.eval.grading`): the prompt (`clinqa.prompts.nli`), a JSON schema
{"label": entailment | neutral | contradiction} decoded as a constraint where the backend can (llama.cpp, vLLM, openai
chat), the autorater's reply parser (`parse_grade`, with a one-axis rubric), and retries (greedy first, then sampled
with new seeds) for the pairs whose reply did not parse. The pairs of a chunk go to the backend's batched `generate`
together; each pair's seed is derived from its own text, so a verdict does not depend on which other pairs were
judged with it.
"""

from __future__ import annotations

from typing import Callable, Sequence

from clinqa.data.loaders.kqa import LABELS
from clinqa.eval.grading import grade_with_retries, rubric_schema
from clinqa.judge.autorate import parse_grade
from clinqa.eval.loop import derive_seed
from clinqa.models.base import Backend
from clinqa.prompts.nli import nli_prompt
from clinqa.data.rubric import Axis

NLI_AXIS = Axis("label", "NLI label", "Does the answer entail, contradict or not address the statement?", LABELS)


def parse_label(text: str) -> str:
    """The reply's label; ValueError (GradeParseError) when it has none of the three."""
    return parse_grade(text, [NLI_AXIS])["label"]


def nli_verdicts(backend: Backend, pairs: Sequence[tuple[str, str]], seed: int = 0, retries: int = 2,
                 max_tokens: int = 32, chunk: int = 64,
                 progress: Callable[[int, int], None] | None = None) -> list[str | None]:
    """One label per (answer, statement) pair, None where no attempt parsed; `chunk` pairs at a time through the
    grader protocol (`eval.grading.grade_with_retries`)."""
    prompts = [nli_prompt(a, s) for a, s in pairs]
    seeds = [derive_seed(seed, f"{a}\x00{s}", "nli") for a, s in pairs]
    out: list[str | None] = []
    for start in range(0, len(pairs), chunk):
        graded = grade_with_retries(backend, prompts[start:start + chunk], parse_label, seeds[start:start + chunk],
                                    retries, max_tokens, rubric_schema([NLI_AXIS]), prefix="{")
        out += [g.value for g in graded]
        if progress:
            progress(min(start + chunk, len(pairs)), len(pairs))
    return out
