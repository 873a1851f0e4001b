"""The NLI judge and its scorer: does a long-form answer entail each gold statement, contradict it, or neither?
`NLIStatementScorer` is the scorer of tasks of kind "nli" (K-QA: must-have and nice-to-have statements written
by physicians), beside HealthBench's rubric grader (`eval.healthbench`); K-QA's metrics over a run's scores are in
`clinqa.analysis.kqa`.

clinqa's one grader protocol (`eval.grading`): the prompt (`clinqa.prompts.nli`), a JSON schema
{"label": entailment | neutral | contradiction} decoded as a constraint where the backend can (llama.cpp, vLLM, openai
chat), `parse_label`, and retries (greedy first, then sampled with new seeds) for the pairs whose reply did not parse.
All statements of an answer go to the grader in one batched `generate` per round; each pair's seed is derived from its
own text, so a verdict does not depend on which other pairs were judged with it, and a resumed run asks the grader
nothing it had answered (the run's grader channel caches every request: `eval.context`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Callable, Sequence

from clinqa.data.loaders.kqa import LABELS, MUST, NICE
from clinqa.data.rubric import Axis
from clinqa.eval.grading import grade_with_retries, rubric_schema
from clinqa.eval.loop import derive_seed
from clinqa.eval.sample import Sample, Score
from clinqa.prompts.nli import NLI_PROMPT, nli_prompt

NLI_AXIS = Axis("label", "NLI label", "Does the answer entail, contradict or not address the statement?", LABELS)
ENTAIL, CONTRA = "entailment", "contradiction"
NAME = "nli"                                    # the scorer's key in a run's stored scores


def parse_label(text: str) -> str:
    """The reply's label ({"label": ...} or a "label: ..." line); ValueError when it is none of the three."""
    m = re.search(r'"?label"?\s*:\s*"?([^"}\n]*)', text, re.I)
    value = m.group(1).strip().strip("'.").lower() if m else None
    if value not in LABELS:
        raise ValueError(f"label: {text[:60]!r} gives none of {list(LABELS)}")
    return value


def nli_verdicts(grader, pairs: Sequence[tuple[str, str]], seed: int = 0, retries: int = 2, max_tokens: int = 32,
                 chunk: int = 64, progress: Callable[[int, int], None] | None = None,
                 template: str = NLI_PROMPT) -> list[str | None]:
    """One label per (answer, statement) pair, None where no attempt parsed; `chunk` pairs at a time through the
    grader protocol (`eval.grading.grade_with_retries`)."""
    prompts = [nli_prompt(a, s, template) for a, s in pairs]
    seeds = [derive_seed(seed, f"{a}\x00{s}", "nli") for a, s in pairs]
    out: list[str | None] = []
    for start in range(0, len(pairs), chunk):
        graded = grade_with_retries(grader, prompts[start:start + chunk], parse_label, seeds[start:start + chunk],
                                    retries, max_tokens, rubric_schema([NLI_AXIS]), prefix="{")
        out += [g.value for g in graded]
        if progress:
            progress(min(start + chunk, len(pairs)), len(pairs))
    return out


def statement_counts(verdicts: Sequence[tuple[str, str | None]]) -> tuple[list[int], int]:
    """From one answer's (category, label or None): [must-have entailed, must-have judged, contradicted, judged] and
    the number of unjudged statements (a reply that never parsed)."""
    counts, unjudged = [0, 0, 0, 0], 0
    for category, label in verdicts:
        if label is None:
            unjudged += 1
            continue
        if category == MUST:
            counts[0] += label == ENTAIL
            counts[1] += 1
        counts[2] += label == CONTRA
        counts[3] += 1
    return counts, unjudged


@dataclass
class NLIStatementScorer:
    """Judges a sample's completion against every statement in its metadata (must-haves, then nice-to-haves): the
    value is the answer's comprehensiveness (must-haves entailed / must-haves judged; None when none was judged)."""

    name = NAME
    needs_grader = True
    retries: int = 2
    max_tokens: int = 32
    prompt: str = NLI_PROMPT

    def identity(self) -> dict:
        """What makes its scores: a changed prompt, retry budget or reply length is a different run."""
        return {"nli_prompt": hashlib.sha256(self.prompt.encode()).hexdigest()[:16], "retries": self.retries,
                "max_tokens": self.max_tokens}

    def __call__(self, sample: Sample, outcome, ctx) -> Score:
        statements = [(cat, s) for cat in (MUST, NICE) for s in sample.metadata.get(cat, [])]
        labels = nli_verdicts(ctx.grader, [(outcome.completion, s) for _, s in statements], ctx.seed(NAME),
                              self.retries, self.max_tokens, chunk=max(1, len(statements)), template=self.prompt)
        (entailed, must, contradicted, judged), unjudged = statement_counts(
            [(cat, lab) for (cat, _), lab in zip(statements, labels)])
        verdicts = [dict(category=cat, statement=s, label=lab) for (cat, s), lab in zip(statements, labels)]
        return Score(entailed / must if must else None, None, f"{entailed}/{must} must-have statements entailed",
                     {"verdicts": verdicts, "hallucination": contradicted > 0,
                      "counts": dict(must_entailed=entailed, must_judged=must, contradicted=contradicted,
                                     judged=judged, unjudged=unjudged)})
