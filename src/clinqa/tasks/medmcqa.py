"""MedMCQA dev set (Pal et al. 2022), Indian medical entrance exams, 4 options; kNN draws from MedQA."""

from __future__ import annotations

from clinqa.data.loaders.medmcqa import load_medmcqa
from clinqa.tasks.base import LMEvalFormat, Task, shipped_exemplars
from clinqa.tasks.knn_pools import MEDMCQA_FILE, medqa_test


MEDMCQA = Task(
    "medmcqa", "mc", lambda split, root: load_medmcqa(root / MEDMCQA_FILE, "medmcqa", split),
    {"dev": 4183}, default_split="dev", relpath=MEDMCQA_FILE,
    source="MedMCQA (Pal et al. 2022) via MIRAGE", license="MIT", description="medical entrance exam questions",
    answer_pool=lambda root: shipped_exemplars(4), reasoning_pool=lambda root: shipped_exemplars(4),
    knn_pool=medqa_test, group_by="subject", lmeval=LMEvalFormat("medmcqa", "medmcqa"))

TASKS = [MEDMCQA]
