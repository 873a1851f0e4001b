"""Log-likelihood scoring: no generation; each option letter is scored as a continuation of the k-shot prompt and the
highest-scoring option wins (lm-evaluation-harness's multiple-choice `acc`)."""

from __future__ import annotations

from clinqa.strategies.base import Outcome, Strategy


class LogLikelihood(Strategy):
    name = "loglik"
    needs_loglikelihood = True

    def calls_per_question(self, n_options: int) -> int:
        return n_options

    def run(self, q, exemplars, ctx):
        context, continuations = self.protocol.loglik(q, exemplars)
        scores = ctx.loglikelihood("loglik", [(context, c) for c in continuations])
        best = max(range(len(scores)), key=lambda i: scores[i])   # first index wins a tie, as numpy.argmax
        pred = q.letters[best]
        return Outcome(pred, votes={pred: 1}, prompts={"loglik": context}, scores=dict(zip(q.letters, scores)),
                       meta={"continuations": continuations})
