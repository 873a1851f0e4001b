"""MedQA (USMLE), 4-option and 5-option test sets (Jin et al. 2021). No train split ships offline, so few-shot and
CoT exemplars are clinqa's own written medical exemplars; kNN draws from MedMCQA dev."""

from __future__ import annotations

from clinqa.data.loaders.medqa import load_medqa
from clinqa.tasks.base import LMEvalFormat, Task, shipped_exemplars
from clinqa.tasks.knn_pools import MEDQA_FILE, medmcqa_dev


MEDQA = Task(
    "medqa", "mc", lambda split, root: load_medqa(root / MEDQA_FILE, "medqa", split), {"test": 1273}, relpath=MEDQA_FILE,
    source="MedQA USMLE 4-option (Jin et al. 2021) via MIRAGE", license="MIT",
    description="USMLE-style clinical vignettes, 4 options",
    answer_pool=lambda root: shipped_exemplars(4), reasoning_pool=lambda root: shipped_exemplars(4),
    knn_pool=medmcqa_dev, lmeval=LMEvalFormat("medqa_4options", "medqa"))

MEDQA5 = Task(
    "medqa5", "mc", lambda split, root: load_medqa(root / "medqa/US_5options_test.jsonl", "medqa5", split),
    {"test": 1273}, relpath="medqa/US_5options_test.jsonl",
    source="MedQA USMLE 5-option (Jin et al. 2021) via MedAgents", license="MIT (upstream)",
    description="USMLE-style clinical vignettes, 5 options",
    answer_pool=lambda root: shipped_exemplars(5), reasoning_pool=lambda root: shipped_exemplars(5),
    knn_pool=medmcqa_dev)

TASKS = [MEDQA, MEDQA5]
