"""K-QA (Manes et al. 2024): 201 real patient questions (K Health) with a physician's answer and physician-written
must-have / nice-to-have statements. Kind "nli": a long-form answer judged by an NLI grader against each
statement (the eval core's `NLIStatementScorer`, clinqa/eval/nli.py), reported as comprehensiveness and hallucination
rate (`clinqa bench --task kqa --model M --grader G`; stored answers: `clinqa judge kqa RUN`)."""

from __future__ import annotations

from clinqa.data.loaders.kqa import QUESTIONS, load_kqa
from clinqa.tasks.base import Task

KQA = Task(
    "kqa", "nli", lambda split, root: load_kqa(root / QUESTIONS, "kqa", split), {"test": 201},
    relpath=QUESTIONS, source="K-QA (Manes et al. 2024), Itaymanes/K-QA", license="MIT",
    description="real patient questions with physician answers and must-have / nice-to-have statements",
    prompt_variant="liveqa")

TASKS = [KQA]
