"""The cross-benchmark pools of Medprompt-style kNN few-shot: MedQA's questions draw their nearest exemplars from
MedMCQA's dev set and MedMCQA's from MedQA's test set (neither ships a train split offline). Both task files name
their data through these paths, so the pools and the tasks always read the same files."""

from __future__ import annotations

from pathlib import Path

from clinqa.data.loaders.medmcqa import load_medmcqa
from clinqa.data.loaders.medqa import load_medqa

MEDQA_FILE = "medqa/phrases_no_exclude_test.jsonl"
MEDMCQA_FILE = "medmcqa/dev.json"


def medqa_test(root: Path) -> list:
    return load_medqa(root / MEDQA_FILE, "medqa", "test")


def medmcqa_dev(root: Path) -> list:
    return load_medmcqa(root / MEDMCQA_FILE, "medmcqa", "dev")
