"""Choice-shuffle ensembling (Medprompt): each of N chain-of-thought samples sees the options in a different, seeded
order; every vote is mapped back to the original letter before the plurality, cancelling position bias."""

from __future__ import annotations

import random

from clinqa.models.base import GenRequest
from clinqa.strategies.base import Outcome, Draw, Strategy
from clinqa.strategies.vote import plurality, tally


def permutations(letters: list[str], n: int, seed: int) -> list[list[str]]:
    """n option orders; the first is the original order, the rest seeded shuffles."""
    rng = random.Random(seed)
    out = [list(letters)]
    while len(out) < n:
        order = list(letters)
        rng.shuffle(order)
        out.append(order)
    return out


class ChoiceShuffle(Strategy):
    name = "shuffle"
    needs_explanations = True
    uses = ("k_shot", "n_samples", "temperature", "top_p", "max_tokens")

    def calls_per_question(self, n_options: int) -> int:
        return self.config.n_samples

    def run(self, q, exemplars, ctx):
        c = self.config
        p = self.protocol
        samples, rendered = [], {}
        for i, order in enumerate(permutations(q.letters, c.n_samples, ctx.seed("shuffle"))):
            stage = f"shuffle{i}"
            prompt, prefix = p.reasoning_prompt(q, exemplars, order)
            r = ctx.generate(stage, GenRequest(prompt, prefix, n=1, temperature=c.temperature, top_p=c.top_p,
                                               max_tokens=c.max_tokens, stop=p.stop, seed=ctx.seed(stage)))
            shown = {chr(65 + j): q.options[o] for j, o in enumerate(order)}
            picked = p.extract(r.texts[0], shown)
            original = order[ord(picked) - 65] if picked else None
            samples.append(Draw(stage, r.texts[0], original, r.completion_tokens[0], order))
            rendered.setdefault("shuffle0", r.rendered_prompt)
        answers = [s.answer for s in samples]
        return Outcome(plurality(answers), samples, votes=tally(answers), prompts=rendered)
