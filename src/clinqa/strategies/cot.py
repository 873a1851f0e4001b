"""Chain-of-thought: exemplars with explanations, one greedy reasoning path, answer extracted from its text."""

from __future__ import annotations

from clinqa import prompts
from clinqa.extract import extract_answer
from clinqa.models.base import GenRequest
from clinqa.strategies.base import Outcome, Sample, Strategy


def cot_samples(q, exemplars, ctx, stage: str, n: int, temperature: float, cfg) -> tuple[list[Sample], str]:
    """n chain-of-thought paths for one question (shared by cot, sc and ER stage 1)."""
    prompt, prefix = prompts.cot_prompt(q, exemplars)
    req = GenRequest(prompt, prefix, n=n, temperature=temperature, top_p=cfg.top_p, max_tokens=cfg.max_tokens,
                     stop=prompts.STOP, seed=ctx.seed(stage))
    r = ctx.generate(stage, req)
    return [Sample(stage, t, extract_answer(t, q.options), k) for t, k in zip(r.texts, r.completion_tokens)], \
        r.rendered_prompt


class ChainOfThought(Strategy):
    name = "cot"
    needs_explanations = True

    def run(self, q, exemplars, ctx):
        samples, rendered = cot_samples(q, exemplars, ctx, "cot", 1, 0.0, self.config)
        ans = samples[0].answer
        return Outcome(ans, samples, votes={ans: 1} if ans else {}, prompts={"cot": rendered})
