"""The `lm-eval` protocol: exactly lm-evaluation-harness 0.4.x's prompts for medqa_4options, medmcqa, pubmedqa and the
MMLU clinical subjects, so that `clinqa bench --protocol lm-eval --strategy loglik` predicts what `lm_eval` predicts.

lm-eval builds `description + (doc_to_text(ex) + " " + target(ex) + "\\n\\n") * k + doc_to_text(doc)` and scores each
choice as the continuation `" " + choice` (" A" ... " D"; PubMedQA " yes"/" no"/" maybe"), with no chat template
unless asked. Its MMLU few-shot exemplars are the subject's dev split in file order (`first_n`), which clinqa's pool
for MMLU is; for the other sets lm-eval samples from a train split clinqa does not ship, so clinqa takes the first k
of the pool (`--exemplars` to choose them). The default is zero-shot, as `lm_eval --tasks ...` without --num_fewshot.
Which format a benchmark uses is declared by its task (`Task.lmeval` in clinqa/tasks/).
"""

from __future__ import annotations

from clinqa.data.records import MCQuestion
from clinqa.prompts.protocol import Protocol, ProtocolError


def _medqa(q: MCQuestion) -> str:
    return f"Question: {q.question}\n" + "".join(f"{L}. {t}\n" for L, t in q.options.items()) + "Answer:"


def _medmcqa(q: MCQuestion) -> str:
    return f"Question: {q.question}\nChoices:\n" + "".join(f"{L.upper()}. {t}\n" for L, t in q.options.items()) + "Answer:"


def _pubmedqa(q: MCQuestion) -> str:
    return f"Abstract: {q.context}\nQuestion: {q.question}\nAnswer:"


def _mmlu(q: MCQuestion) -> str:
    return q.question.strip() + "\n" + "".join(f"{L}. {t}\n" for L, t in q.options.items()) + "Answer:"


DOC_TO_TEXT = {"medqa": _medqa, "medmcqa": _medmcqa, "pubmedqa": _pubmedqa, "mmlu": _mmlu}


def task_format(dataset: str):
    """The lm-eval format a record's task declares (`Task.lmeval`), or a ProtocolError."""
    from clinqa.data.errors import DataError
    from clinqa.tasks import get_task
    try:
        fmt = get_task(dataset).lmeval
    except DataError:
        fmt = None
    if fmt is None:
        raise ProtocolError(f"task {dataset!r} declares no lm-eval format (lm-eval has no such task)")
    return fmt


def target(example: MCQuestion, by_text: bool) -> str:
    return example.options[example.answer] if by_text else example.answer


class LMEvalProtocol(Protocol):
    name = "lm-eval"
    strategies = frozenset({"loglik", "fewshot", "knn"})
    chat_template = False
    stop = ("\n",)

    def context(self, q: MCQuestion, exemplars) -> str:
        """Exemplars are written in the evaluated question's task format, whatever pool they come from."""
        fmt = task_format(q.dataset)
        doc_to_text = DOC_TO_TEXT[fmt.doc_to_text]
        shots = "".join(f"{doc_to_text(e)} {target(e, fmt.choices_are_text)}\n\n" for e in exemplars)
        head = fmt.description.format(subject=(q.subject or "").replace("_", " ")) if fmt.description else ""
        return head + shots + doc_to_text(q)

    def answer_prompt(self, q, exemplars, order=None):
        if order and list(order) != q.letters:
            raise ProtocolError("the lm-eval protocol does not shuffle options")
        return self.context(q, exemplars), ""

    def loglik(self, q, exemplars):
        by_text = task_format(q.dataset).choices_are_text
        return self.context(q, exemplars), [" " + (q.options[L] if by_text else L) for L in q.letters]
