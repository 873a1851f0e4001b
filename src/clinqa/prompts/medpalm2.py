"""The paper's prompts (the `medpalm2` protocol, clinqa's default): few-shot, chain-of-thought, Ensemble Refinement,
log-likelihood and long-form. Wording follows Med-PaLM 2 (arXiv appendix A.3, Tables A.10-A.17); see
shared/reference/medpalm2.md.
"""

from __future__ import annotations

from typing import Sequence

from clinqa.data.records import MCQuestion
from clinqa.prompts.protocol import Protocol

NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}

FEWSHOT_INSTRUCTION = "The following are multiple choice questions (with answers) about medical knowledge."
COT_INSTRUCTION = ("Instructions: The following are multiple choice questions about medical knowledge. Solve them in a "
                   "step-by-step fashion, starting by summarizing the available information. Output a single option "
                   "from the {n} options as the final answer.")
ER_SUFFIX = ("We provide several student reasonings for the last question. Some of them may be correct and some "
             "incorrect. You can use the best correct arguments from these reasonings. Beware of wrong reasoning and "
             "do not repeat wrong reasoning.")
COT_LEAD = "Explanation: Let's solve this step-by-step, referring to authoritative sources as needed."
ANSWER_LEAD = "Answer:"
# generation stops when the model starts inventing the next exemplar
STOP = ("\n\nQuestion:", "\nQuestion:", "\n\nInstructions:")

LONGFORM_SYSTEM = "You are a helpful medical knowledge assistant. Provide useful, complete, and scientifically-grounded answers to {audience}"
LONGFORM_AUDIENCE = {
    "healthsearchqa": "common consumer search queries about health.",
    "liveqa": "consumer health questions.",
    "medicationqa": "consumer questions about medications.",
}
BIAS_INSTRUCTION = "The answer should not be constructed with bias towards race, gender, and geographical locations."


def format_question(q: MCQuestion, order: Sequence[str] | None = None) -> str:
    """`Question: ... (A) ... (B) ...`; `order` lists the original letters in display order (choice shuffling)."""
    order = list(order or q.letters)
    shown = [chr(65 + i) for i in range(len(order))]
    head = f"Context: {q.context}\n" if q.context else ""
    opts = "\n".join(f"({d}) {q.options[o]}" for d, o in zip(shown, order))
    return f"{head}Question: {q.question}\n{opts}"


def fewshot_prompt(q: MCQuestion, exemplars: Sequence[MCQuestion], order=None) -> tuple[str, str]:
    """(prompt, assistant prefix) for answer-only k-shot prompting."""
    parts = [FEWSHOT_INSTRUCTION]
    parts += [f"{format_question(e)}\n{ANSWER_LEAD} ({e.answer})" for e in exemplars]
    parts.append(format_question(q, order))
    return "\n\n".join(parts) + "\n", ANSWER_LEAD


def cot_instruction(q: MCQuestion) -> str:
    return COT_INSTRUCTION.format(n=NUMBER_WORDS.get(len(q.options), str(len(q.options))))


def cot_exemplar(e: MCQuestion) -> str:
    return f"{format_question(e)}\n{COT_LEAD} {e.explanation or ''}\n{ANSWER_LEAD} ({e.answer})"


def cot_prompt(q: MCQuestion, exemplars: Sequence[MCQuestion], order=None) -> tuple[str, str]:
    """(prompt, prefix): the CoT instruction, exemplars with explanations, then the question; the answer starts with
    the paper's 'Explanation: Let's solve this step-by-step ...' lead."""
    parts = [cot_instruction(q)] + [cot_exemplar(e) for e in exemplars] + [format_question(q, order)]
    return "\n\n".join(parts) + "\n", COT_LEAD


def er_prompt(q: MCQuestion, exemplars: Sequence[MCQuestion], reasonings: Sequence[str]) -> tuple[str, str]:
    """Stage-2 Ensemble Refinement prompt (Tables A.15-A.16): identical for all refinements of one question."""
    parts = [f"{cot_instruction(q)} {ER_SUFFIX}"] + [cot_exemplar(e) for e in exemplars] + [format_question(q)]
    students = "\n".join(f"{i} reasoning: {r.strip()}" for i, r in enumerate(reasonings, start=1))
    return "\n\n".join(parts) + f"\nStudents' reasonings:\n{students}\n", COT_LEAD


def loglik_context(q: MCQuestion, exemplars: Sequence[MCQuestion] = ()) -> str:
    """Context for option scoring; each option is scored as the continuation ' A', ' B', ... (lm-eval style)."""
    prompt, prefix = fewshot_prompt(q, exemplars)
    return prompt + prefix


def longform_prompt(question: str, dataset: str = "healthsearchqa", debias: bool = False) -> str:
    """The paper's long-form prompt (Table A.17); adversarial sets add the bias instruction."""
    audience = LONGFORM_AUDIENCE.get(dataset, LONGFORM_AUDIENCE["healthsearchqa"])
    head = LONGFORM_SYSTEM.format(audience=audience)
    if debias:
        head += " " + BIAS_INSTRUCTION
    return f"{head}\n\nQuestion: {question}\nComplete Answer:"


class MedPaLM2Protocol(Protocol):
    """The paper's prompts: k-shot with "Answer: (X)", CoT with the explanation lead, ER's students' reasonings;
    option scoring as the continuation " (X)" after the k-shot prompt."""

    name = "medpalm2"
    strategies = frozenset({"fewshot", "cot", "sc", "er", "loglik", "knn", "shuffle"})
    stop = STOP

    def default_k(self, task, reasoning: bool) -> int:
        return task.k_reasoning if reasoning else task.k_answer

    def answer_prompt(self, q, exemplars, order=None):
        return fewshot_prompt(q, exemplars, order)

    def reasoning_prompt(self, q, exemplars, order=None):
        return cot_prompt(q, exemplars, order)

    def refine_prompt(self, q, exemplars, reasonings):
        return er_prompt(q, exemplars, reasonings)

    def loglik(self, q, exemplars):
        return loglik_context(q, exemplars), [f" ({L})" for L in q.letters]
