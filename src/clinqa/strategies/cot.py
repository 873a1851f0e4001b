"""Chain-of-thought: exemplars with explanations, one greedy reasoning path, answer extracted from its text."""

from __future__ import annotations

from clinqa.models.base import GenRequest
from clinqa.strategies.adaptive import draw_adaptively
from clinqa.strategies.base import Outcome, Draw, Strategy


def sample_prompt(q, ctx, stage: str, prompt: str, prefix: str, n: int, temperature: float, cfg, protocol,
                  adaptive: bool = False) -> tuple[list[Draw], str]:
    """n samples of one prompt with answers extracted; in adaptive mode drawn in batches until the stopping rule."""
    rendered = []

    def draw(st: str, k: int) -> list[Draw]:
        r = ctx.generate(st, GenRequest(prompt, prefix, n=k, temperature=temperature, top_p=cfg.top_p,
                                        max_tokens=cfg.max_tokens, stop=protocol.stop, seed=ctx.seed(st)))
        rendered.append(r.rendered_prompt)
        return [Draw(stage, t, protocol.extract(t, q.options), c) for t, c in zip(r.texts, r.completion_tokens)]
    if adaptive and cfg.adaptive is not None and n > 1:
        samples = draw_adaptively(draw, lambda s: s.answer, stage, n, cfg.adaptive)
    else:
        samples = draw(stage, n)
    return samples, rendered[0]


def cot_samples(q, exemplars, ctx, stage: str, n: int, temperature: float, cfg, protocol) -> tuple[list[Draw], str]:
    """n chain-of-thought paths for one question (shared by cot, sc and ER stage 1)."""
    prompt, prefix = protocol.reasoning_prompt(q, exemplars)
    return sample_prompt(q, ctx, stage, prompt, prefix, n, temperature, cfg, protocol, adaptive=True)


class ChainOfThought(Strategy):
    name = "cot"
    uses = ("k_shot", "max_tokens")
    needs_explanations = True

    def run(self, q, exemplars, ctx):
        samples, rendered = cot_samples(q, exemplars, ctx, "cot", 1, 0.0, self.config, self.protocol)
        ans = samples[0].answer
        return Outcome(ans, samples, votes={ans: 1} if ans else {}, prompts={"cot": rendered})
