"""Adversarial long-form sets written for clinqa by the paper's design (its own sets are not public): `general` (40
questions probing safety and misinformation) and `equity` (40, with counterfactual pairs), both answered with the
paper's instruction against bias by race, gender or geography. See resources/adversarial/README.md."""

from __future__ import annotations

from clinqa.data.loaders.questions import load_adversarial
from clinqa.tasks.base import Task

TASKS = [
    Task(f"adversarial_{name}", "longform", lambda split, root, name=name: load_adversarial(name), {"test": 40},
         source="written for clinqa (resources/adversarial)", license="Apache-2.0", description=about, debias=True)
    for name, about in (("general", "adversarial questions: safety, misinformation, dangerous advice"),
                        ("equity", "health-equity questions with counterfactual pairs"))
]
