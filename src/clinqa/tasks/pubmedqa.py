"""PubMedQA PQA-L (Jin et al. 2019): a question and an abstract, answered yes / no / maybe. The test set is the
standard 500; its ground-truth file is sorted by label, which is why runs never take questions in file order. The
other 500 labelled items are the exemplar pool (with the long answer as rationale); k = 3 as in the paper."""

from __future__ import annotations

from clinqa.data.loaders.pubmedqa import load_pubmedqa
from clinqa.tasks.base import LMEvalFormat, Task


def _train(root):
    return PUBMEDQA.load("train", root)


PUBMEDQA = Task(
    "pubmedqa", "mc", lambda split, root: load_pubmedqa(root / "pubmedqa", split), {"test": 500, "train": 500},
    relpath="pubmedqa", source="PubMedQA PQA-L (Jin et al. 2019)", license="MIT",
    description="biomedical research questions with an abstract: yes / no / maybe",
    k_answer=3, k_reasoning=3, answer_pool=_train, reasoning_pool=_train, knn_pool=_train,
    lmeval=LMEvalFormat("pubmedqa", "pubmedqa", choices_are_text=True))

TASKS = [PUBMEDQA]
