"""K-QA (Manes et al. 2024): 201 real patient questions (K Health) with a physician's answer and physician-written
must-have / nice-to-have statements. Long-form: answered with the paper's long-form prompt (consumer variant), scored by
an NLI judge against each statement (`clinqa judge kqa`): comprehensiveness and hallucination rate."""

from __future__ import annotations

from clinqa.data.loaders.kqa import QUESTIONS, load_kqa
from clinqa.tasks.base import Task

KQA = Task(
    "kqa", "longform", lambda split, root: load_kqa(root / QUESTIONS, "kqa", split), {"test": 201},
    relpath=QUESTIONS, source="K-QA (Manes et al. 2024), Itaymanes/K-QA", license="MIT",
    description="real patient questions with physician answers and must-have / nice-to-have statements",
    prompt_variant="liveqa")

TASKS = [KQA]
