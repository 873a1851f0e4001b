"""Self-consistency: sample N chain-of-thought paths at temperature T (default 11 at 0.7) and take the plurality."""

from __future__ import annotations

from clinqa.strategies.base import Outcome, Strategy
from clinqa.strategies.cot import cot_samples
from clinqa.strategies.vote import plurality, tally


class SelfConsistency(Strategy):
    name = "sc"
    needs_explanations = True
    uses = ("k_shot", "n_samples", "temperature", "top_p", "max_tokens")

    def calls_per_question(self, n_options: int) -> int:
        return self.config.n_samples

    def run(self, q, exemplars, ctx):
        c = self.config
        samples, rendered = cot_samples(q, exemplars, ctx, "sc", c.n_samples, c.temperature, c, self.protocol)
        answers = [s.answer for s in samples]
        return Outcome(plurality(answers), samples, votes=tally(answers), prompts={"sc": rendered})
