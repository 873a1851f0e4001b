"""The NLI judge's prompt (`clinqa.eval.nli`): does an answer entail, contradict or say nothing about one statement
(K-QA's comprehensiveness and hallucination checks). The reply is one JSON object {"label": ...}."""

from __future__ import annotations

NLI_PROMPT = (
    "You are a physician checking a medical answer against one statement written by physicians.\n\n"
    "Answer:\n{answer}\n\nStatement:\n{statement}\n\n"
    "Choose one label:\n"
    '- "entailment": the answer states the statement or clearly implies it.\n'
    '- "contradiction": the answer states something that cannot be true together with the statement.\n'
    '- "neutral": the answer neither states nor contradicts it (for example, it does not address it).\n\n'
    'Reply with only one JSON object: {{"label": "entailment" | "neutral" | "contradiction"}}\n')


def nli_prompt(answer: str, statement: str, template: str = NLI_PROMPT) -> str:
    return template.format(answer=answer.strip(), statement=statement.strip())
