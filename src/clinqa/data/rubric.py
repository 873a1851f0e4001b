"""The rating rubric: the paper's 12 physician axes, 2 lay axes and 9 pairwise axes with their exact scales, read
from one JSON file (`resources/rubric/medpalm2.json`) that a study can replace with its own."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path


@dataclass(frozen=True)
class Axis:
    key: str
    label: str
    question: str
    scale: tuple[str, ...]          # best bin first

    @property
    def best(self) -> str:
        return self.scale[0]


@dataclass(frozen=True)
class Rubric:
    name: str
    physician: tuple[Axis, ...]
    lay: tuple[Axis, ...]
    pairwise: tuple[Axis, ...]

    def axes(self, kind: str) -> tuple[Axis, ...]:
        if kind not in ("physician", "lay", "pairwise"):
            raise ValueError(f"unknown rubric part {kind!r}; physician, lay or pairwise")
        return getattr(self, kind)


DEFAULT_RUBRIC = Path(str(resources.files("clinqa") / "resources" / "rubric" / "medpalm2.json"))


def load_rubric(path: str | Path | None = None) -> Rubric:
    p = Path(path) if path else DEFAULT_RUBRIC
    return rubric_from_dict(json.loads(p.read_text()), p)


def rubric_from_dict(raw: dict, p: str | Path = "rubric") -> Rubric:
    """A rubric from its JSON form (a study keeps the JSON it was created with)."""
    p = Path(p)
    parts = {}
    for kind in ("physician", "lay", "pairwise"):
        axes = []
        for i, a in enumerate(raw.get(kind, [])):
            missing = [k for k in ("key", "label", "question", "scale") if k not in a]
            if missing or len(a.get("scale", [])) < 2:
                raise ValueError(f"{p}: {kind}[{i}]: needs key, label, question and a scale of 2+ values "
                                 f"(missing {missing})")
            axes.append(Axis(a["key"], a["label"], a["question"], tuple(a["scale"])))
        parts[kind] = tuple(axes)
    return Rubric(raw.get("name", p.stem), **parts)
