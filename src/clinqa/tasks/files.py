"""Ad-hoc tasks named by where their data is: a question file (`my_questions.csv` / `.tsv` / `.jsonl`, long-form) or a
hub dataset (`hf:<owner>/<name>[:config]`, multiple choice or long-form by its columns; needs network). A question
file that does not exist is an error saying so (not a task of the wrong kind)."""

from __future__ import annotations

import re
from pathlib import Path

from clinqa.data.errors import DataError
from clinqa.tasks.base import Task


def resolve(name: str) -> Task | None:
    if name.startswith("hf:"):
        from clinqa.data.loaders.hub import load_hub
        hub_id, _, config = name[3:].partition(":")
        return Task(name, "mc", lambda split, root: load_hub(hub_id, split, config=config or None),
                    {"test": 0, "train": 0, "validation": 0, "dev": 0}, source=f"Hugging Face hub {hub_id}")
    if name.endswith((".csv", ".tsv", ".jsonl")) and (Path(name).exists() or not re.match(r"[A-Za-z_][\w-]*:", name)):
        from clinqa.data.loaders.questions import load_question_file
        if not Path(name).is_file():
            raise DataError(name, "question file not found (a .csv/.tsv/.jsonl task names a file of long-form "
                            "questions)", field="task")
        return Task(name, "longform", lambda split, root: load_question_file(name), {"test": 0},
                    source=f"question file {Path(name).name}")
    return None


TASKS: list[Task] = []
