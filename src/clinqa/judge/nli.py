"""The NLI judge: for each (answer, statement) pair, does the answer entail the statement, contradict it, or neither?
K-QA's metrics are built from its verdicts (`clinqa.analysis.kqa`).

One grader protocol, the autorater's (`clinqa.judge.autorate`): the prompt (`clinqa.prompts.nli`), a JSON schema
{"label": entailment | neutral | contradiction} decoded as a constraint where the backend can (llama.cpp, vLLM, openai
chat), the same reply parser (`parse_grade`, with a one-axis rubric), and retries (greedy first, then sampled with
new seeds) for the pairs whose reply did not parse. All pairs of an attempt go to the backend's batched `generate`
together (in chunks of `chunk`); each pair's seed is derived from its own text, so a verdict does not depend on which
other pairs were judged with it.
"""

from __future__ import annotations

from typing import Callable, Sequence

from clinqa.data.loaders.kqa import LABELS
from clinqa.judge.autorate import GradeParseError, parse_grade
from clinqa.eval.grading import constrain, rubric_schema, supports_schema
from clinqa.eval.loop import derive_seed
from clinqa.models.base import Backend, GenRequest
from clinqa.prompts.nli import nli_prompt
from clinqa.data.rubric import Axis

NLI_AXIS = Axis("label", "NLI label", "Does the answer entail, contradict or not address the statement?", LABELS)


def parse_label(text: str) -> str | None:
    try:
        return parse_grade(text, [NLI_AXIS])["label"]
    except GradeParseError:
        return None


def nli_verdicts(backend: Backend, pairs: Sequence[tuple[str, str]], seed: int = 0, retries: int = 2,
                 max_tokens: int = 32, chunk: int = 64,
                 progress: Callable[[int, int], None] | None = None) -> list[str | None]:
    """One label per (answer, statement) pair, None where no attempt parsed."""
    schema = rubric_schema([NLI_AXIS]) if supports_schema(backend) else None
    prompts = [nli_prompt(a, s) for a, s in pairs]
    seeds = [derive_seed(seed, f"{a}\x00{s}", "nli") for a, s in pairs]
    out: list[str | None] = [None] * len(pairs)
    todo = list(range(len(pairs)))
    for attempt in range(retries + 1):
        failed = []
        for start in range(0, len(todo), chunk):
            part = todo[start:start + chunk]
            reqs = [GenRequest(prompts[i], prefix="{", max_tokens=max_tokens,
                               temperature=0.0 if attempt == 0 else 0.7, seed=seeds[i] + attempt) for i in part]
            if schema:
                reqs = [constrain(r, schema) for r in reqs]
            for i, res in zip(part, backend.generate(reqs)):
                out[i] = parse_label(res.texts[0] if schema else "{" + res.texts[0])
                if out[i] is None:
                    failed.append(i)
            if progress and attempt == 0:
                progress(min(start + chunk, len(todo)), len(todo))
        todo = failed
        if not todo:
            break
    return out
