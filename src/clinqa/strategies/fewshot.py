"""Few-shot: k exemplars with their answers, greedy decoding, answer read from a short completion."""

from __future__ import annotations

from clinqa.models.base import GenRequest
from clinqa.strategies.base import Outcome, Draw, Strategy


class FewShot(Strategy):
    name = "fewshot"

    def run(self, q, exemplars, ctx):
        p = self.protocol
        prompt, prefix = p.answer_prompt(q, exemplars)
        r = ctx.generate("answer", GenRequest(prompt, prefix, max_tokens=p.answer_max_tokens, stop=p.stop))
        ans = p.extract(r.texts[0], q.options)
        return Outcome(ans, [Draw("answer", r.texts[0], ans, r.completion_tokens[0])],
                       votes={ans: 1} if ans else {}, prompts={"answer": r.rendered_prompt})
