"""Ensemble Refinement (Med-PaLM 2, section 3.3): the model refines its answer after reading its own sampled reasonings.

Stage 1 samples N chain-of-thought paths (default 11). Stage 2 builds one prompt holding the question and all stage-1
reasonings, introduced as other students' reasonings, and samples M refinements (default 33) from it; the answer is the
plurality vote over the M refined answers. Every stage-1 and stage-2 text is kept in the outcome.
Stage-1 reasonings are shown without their answer statements unless `er_with_answers` is set.
With an adaptive rule both stages draw in batches and stop early (see adaptive.py).
"""

from __future__ import annotations

from clinqa.extract import strip_answer
from clinqa.strategies.base import Outcome, Strategy
from clinqa.strategies.cot import cot_samples, sample_prompt
from clinqa.strategies.vote import plurality, tally



def student_reasoning(text: str, options, with_answer: bool) -> str:
    """As printed in the paper, a student reasoning is its explanation without the final answer statement
    (`extract.strip_answer`); `with_answer` shows the whole text instead (`--er-reasonings with-answers`)."""
    return text.strip() if with_answer else strip_answer(text, options)


class EnsembleRefinement(Strategy):
    name = "er"
    needs_explanations = True
    uses = ("k_shot", "n_samples", "n_refine", "temperature", "top_p", "max_tokens", "er_with_answers")

    def calls_per_question(self, n_options: int) -> int:
        return self.config.n_samples + self.config.n_refine

    def run(self, q, exemplars, ctx):
        c = self.config
        stage1, rendered1 = cot_samples(q, exemplars, ctx, "er1", c.n_samples, c.temperature, c, self.protocol)
        students = [student_reasoning(s.text, q.options, c.er_with_answers) for s in stage1]
        prompt, prefix = self.protocol.refine_prompt(q, exemplars, students)
        stage2, rendered2 = sample_prompt(q, ctx, "er2", prompt, prefix, c.n_refine, c.temperature, c, self.protocol,
                                           adaptive=True)
        answers = [s.answer for s in stage2]
        return Outcome(plurality(answers), stage1 + stage2, votes=tally(answers),
                       prompts={"er1": rendered1, "er2": rendered2},
                       meta={"stage1_votes": tally(s.answer for s in stage1)})
