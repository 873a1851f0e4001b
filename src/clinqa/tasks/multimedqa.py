"""MultiMedQA 140 and 1066, the long-form evaluation sets of Med-PaLM (2): 140 = 100 HealthSearchQA + 20 LiveQA + 20
MedicationQA; 1066 = the 140 plus further questions from the union of the three sets. The paper's question lists are
not available offline, so both are drawn here with a fixed seed, deduplicated by normalised question text. Each
question keeps its own set's prompt variant."""

from __future__ import annotations

import random
import re

from clinqa.tasks.base import Task
from clinqa.tasks.consumer import HEALTHSEARCHQA, LIVEQA, MEDICATIONQA

COMPOSITION_140 = ((HEALTHSEARCHQA, 100), (LIVEQA, 20), (MEDICATIONQA, 20))
SEED = 0


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", text.lower()).split())


def _dedup(records):
    seen, out = set(), []
    for r in records:
        key = normalise(r.question)
        if key and key not in seen:
            seen.add(key)
            out.append(r)
    return out


def multimedqa140(root, seed: int = SEED) -> list:
    rng = random.Random(seed)
    out = []
    for task, k in COMPOSITION_140:
        out += rng.sample(_dedup(task.load(None, root)), k)
    return _dedup(out)


def multimedqa1066(root, seed: int = SEED, size: int = 1066) -> list:
    base = multimedqa140(root, seed)
    pool = _dedup([r for task, _ in COMPOSITION_140 for r in task.load(None, root)])
    random.Random(seed + 1).shuffle(pool)
    out, seen = list(base), {normalise(r.question) for r in base}
    for r in pool:
        if len(out) >= size:
            break
        if normalise(r.question) not in seen:
            seen.add(normalise(r.question))
            out.append(r)
    return out


TASKS = [
    Task("multimedqa140", "longform", lambda split, root: multimedqa140(root), {"test": 140},
         source="drawn from HealthSearchQA, LiveQA, MedicationQA (seed 0) by Med-PaLM's MultiMedQA 140 design",
         license="as its sources", description="100 HealthSearchQA + 20 LiveQA + 20 MedicationQA"),
    Task("multimedqa1066", "longform", lambda split, root: multimedqa1066(root), {"test": 1066},
         source="the 140 plus seeded draws from the three consumer sets", license="as its sources",
         description="MultiMedQA 1066-style long-form set"),
]
