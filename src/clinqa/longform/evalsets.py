"""The paper's consumer-question evaluation sets, drawn reproducibly (seeded) and deduplicated.

- `multimedqa140`: 100 HealthSearchQA + 20 LiveQA + 20 MedicationQA questions (Med-PaLM's MultiMedQA 140 design).
- `multimedqa1066`: the 140 plus random questions from the union of the three sets (so mostly HealthSearchQA) until
  1066 distinct questions, duplicates and near-duplicates (same text after lower-casing and dropping punctuation and
  extra spaces) removed — the design of the paper's 1066 set, not its exact questions (those were not released).
"""

from __future__ import annotations

import random
import re

from clinqa.data.registry import load

COMPOSITION_140 = {"healthsearchqa": 100, "liveqa": 20, "medicationqa": 20}


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


def multimedqa140(seed: int = 0, data_dir=None) -> list:
    rng = random.Random(seed)
    out = []
    for name, k in COMPOSITION_140.items():
        out += rng.sample(_dedup(load(name, None, data_dir)), k)
    return _dedup(out)


def multimedqa1066(seed: int = 0, data_dir=None, size: int = 1066) -> list:
    base = multimedqa140(seed, data_dir)
    pool = _dedup([r for name in COMPOSITION_140 for r in load(name, None, data_dir)])
    random.Random(seed + 1).shuffle(pool)
    out, seen = list(base), {normalise(r.question) for r in base}
    for r in pool:
        if len(out) >= size:
            break
        key = normalise(r.question)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


EVAL_SETS = {"multimedqa140": multimedqa140, "multimedqa1066": multimedqa1066}
