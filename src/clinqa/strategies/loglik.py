"""Log-likelihood scoring: no generation; each option letter is scored as a continuation of the k-shot prompt and the
highest-scoring option wins (lm-evaluation-harness's multiple-choice `acc`)."""

from __future__ import annotations

from clinqa import prompts
from clinqa.strategies.base import Outcome, Strategy


class LogLikelihood(Strategy):
    name = "loglik"

    def run(self, q, exemplars, ctx):
        context = prompts.loglik_context(q, exemplars)
        scores = ctx.loglikelihood("loglik", [(context, f" ({L})") for L in q.letters])
        best = max(range(len(scores)), key=lambda i: scores[i])   # first index wins a tie, as numpy.argmax
        pred = q.letters[best]
        return Outcome(pred, votes={pred: 1}, prompts={"loglik": context}, scores=dict(zip(q.letters, scores)))
