"""MMLU clinical topics (Hendrycks et al. 2021): six subjects, each a task, and `mmlu` for all six, reported per
subject. Answer-only exemplars are the subject's dev split in file order (the standard 5-shot, as lm-eval); CoT uses
clinqa's written exemplars with k = 6 as in the paper; kNN draws from dev + val."""

from __future__ import annotations

from clinqa.data.loaders.mmlu import SUBJECTS, load_mmlu
from clinqa.tasks.base import LMEvalFormat, Task, shipped_exemplars

COUNTS = {"anatomy": (135, 5, 14), "clinical_knowledge": (265, 5, 29), "college_biology": (144, 5, 16),
          "college_medicine": (173, 5, 22), "medical_genetics": (100, 5, 11), "professional_medicine": (272, 5, 31)}
assert set(COUNTS) == set(SUBJECTS)
LMEVAL_DESCRIPTION = "The following are multiple choice questions (with answers) about {subject}.\n\n"


def mmlu_task(subject: str) -> Task:
    name = "mmlu" if subject == "all" else f"mmlu_{subject}"
    counts = [v for s, v in COUNTS.items() if subject in ("all", s)]
    splits = {split: sum(c[i] for c in counts) for i, split in enumerate(("test", "dev", "val"))}
    return Task(
        name, "mc", lambda split, root: load_mmlu(root / "mmlu_clinical", subject, split), splits,
        relpath="mmlu_clinical", source=f"MMLU {'clinical topics, all six' if subject == 'all' else subject.replace('_', ' ')} "
        "(Hendrycks et al. 2021)", license="MIT", k_reasoning=6,
        answer_pool=lambda root: load_mmlu(root / "mmlu_clinical", subject, "dev"),
        reasoning_pool=lambda root: shipped_exemplars(4),
        knn_pool=lambda root: load_mmlu(root / "mmlu_clinical", subject, "dev") + load_mmlu(root / "mmlu_clinical", subject, "val"),
        lmeval=LMEvalFormat(f"mmlu_{subject}" if subject != "all" else "mmlu_<subject>", "mmlu",
                            description=LMEVAL_DESCRIPTION))


TASKS = [mmlu_task("all")] + [mmlu_task(s) for s in SUBJECTS]
