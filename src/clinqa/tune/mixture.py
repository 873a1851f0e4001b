"""Weighted dataset mixtures for instruction tuning (Med-PaLM 2's recipe: medqa .375, medmcqa .375, liveqa .039,
medicationqa .035, healthsearchqa .176).

Each dataset is split into a training part and a held-out part by a seeded hash of its record ids (`train_fraction`),
so training and evaluation are disjoint and reproducible. Examples are then drawn by weight — with replacement each example's
dataset is drawn by weight; without, each dataset contributes round(weight x total) distinct records — either `total`
examples or `epochs` passes over the smallest component (relative to its weight). The realised proportions are
returned so they can be printed and saved.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from clinqa.data.errors import DataError
from clinqa.data.records import LongFormQuestion
from clinqa.tasks import load


@dataclass
class Component:
    dataset: str
    weight: float
    split: str | None = None
    answers: str | None = None          # JSONL of {"question", "answer"} for datasets without reference answers


@dataclass
class Recipe:
    name: str
    components: list[Component]
    train_fraction: float = 0.5
    total: int | None = 2000
    epochs: float | None = None         # alternative to total: this many passes over the smallest component
    replacement: bool = True
    seed: int = 0
    note: str = ""

    @classmethod
    def load(cls, name_or_path: str) -> "Recipe":
        p = Path(name_or_path)
        if not p.is_file():
            p = Path(str(resources.files("clinqa") / "resources" / "recipes" / f"{name_or_path}.json"))
        if not p.is_file():
            raise DataError(name_or_path, "no such recipe file or built-in recipe (built-in: multimedqa)")
        try:
            raw = json.loads(p.read_text())
            comps = [Component(**c) for c in raw.pop("components")]
            return cls(components=comps, **raw)
        except (json.JSONDecodeError, TypeError, KeyError) as e:
            raise DataError(p, f"malformed recipe ({e})") from None


def in_train_part(record_id: str, fraction: float, seed: int) -> bool:
    h = int(hashlib.sha256(f"{seed}:{record_id}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return h < fraction


def _attach_answers(records: list, path: str) -> list:
    from clinqa.data.loaders.common import read_jsonl
    answers = {obj.get("question", "").strip().lower(): obj.get("answer") for _, obj in read_jsonl(Path(path))}
    return [LongFormQuestion(r.id, r.question, r.dataset, r.split, (answers[r.question.strip().lower()],), r.extra)
            for r in records if answers.get(r.question.strip().lower())]


def usable(records: list) -> list:
    """Records a model can be trained on: multiple choice, or long-form with a reference answer."""
    return [r for r in records if not isinstance(r, LongFormQuestion) or r.references]


@dataclass
class Mixture:
    examples: list                      # the sampled records, in training order
    proportions: dict[str, float]       # realised share of each dataset
    weights: dict[str, float]           # target weights, renormalised over the datasets actually used
    train_ids: dict[str, list[str]] = field(default_factory=dict)     # every id in each training part
    skipped: dict[str, str] = field(default_factory=dict)             # dataset -> why it was left out

    def summary(self) -> dict:
        return {"proportions": self.proportions, "weights": self.weights, "skipped": self.skipped,
                "counts": {d: sum(1 for e in self.examples if e.dataset == d) for d in self.weights},
                "train_pool": {d: len(v) for d, v in self.train_ids.items()}}


def build_mixture(recipe: Recipe, data_dir=None) -> Mixture:
    pools, skipped = {}, {}
    for c in recipe.components:
        records = load(c.dataset, c.split, data_dir)
        if c.answers:
            records = _attach_answers(records, c.answers)
        train = [r for r in usable(records) if in_train_part(r.id, recipe.train_fraction, recipe.seed)]
        if not train:
            skipped[c.dataset] = ("no reference answers to train on; pass answers (a JSONL of question/answer pairs) "
                                  "in the recipe component" if records and not usable(records) else "no records")
            continue
        pools[c.dataset] = (c.weight, train)
    if not pools:
        raise DataError(recipe.name, "no component of the recipe has trainable records")
    total_w = sum(w for w, _ in pools.values())
    weights = {d: w / total_w for d, (w, _) in pools.items()}
    if recipe.epochs is not None:
        smallest = min(pools, key=lambda d: len(pools[d][1]) / weights[d])
        total = int(round(recipe.epochs * len(pools[smallest][1]) / weights[smallest]))
    else:
        total = int(recipe.total or 0)
    rng = np.random.default_rng(recipe.seed)
    names = list(pools)
    examples = []
    if recipe.replacement:
        # each example's dataset is drawn by weight: realised shares match the weights within sampling error
        for k in rng.choice(len(names), size=total, p=[weights[d] for d in names]):
            pool = pools[names[k]][1]
            examples.append(pool[int(rng.integers(len(pool)))])
    else:
        # without replacement: exact (rounded) counts per dataset, each drawn without repeats, then shuffled
        for d in names:
            pool, k = pools[d][1], int(round(weights[d] * total))
            if k > len(pool):
                raise DataError(recipe.name, f"{d}: sampling without replacement needs {k} of its {len(pool)} "
                                "training records; lower total/epochs or allow replacement", field="total")
            examples += [pool[i] for i in rng.permutation(len(pool))[:k]]
        examples = [examples[i] for i in rng.permutation(len(examples))]
        total = len(examples)
    counts = {d: sum(1 for e in examples if e.dataset == d) for d in names}
    return Mixture(examples, {d: counts[d] / max(total, 1) for d in names}, weights,
                   {d: [r.id for r in pools[d][1]] for d in names}, skipped)


def save_mixture(mix: Mixture, recipe: Recipe, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "mixture.json").write_text(json.dumps({"recipe": asdict(recipe), **mix.summary()}, indent=1))
    (out / "training_ids.json").write_text(json.dumps(mix.train_ids))
