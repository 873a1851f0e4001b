"""MMLU clinical topics: header-less CSV `question,A,B,C,D,answer`, one file per subject and split."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from clinqa.data.errors import DataError
from clinqa.data.loaders.common import read_text, validate
from clinqa.data.records import MCQuestion

SUBJECTS = ("anatomy", "clinical_knowledge", "college_biology", "college_medicine", "medical_genetics",
            "professional_medicine")


def load_mmlu_file(path: Path, subject: str, split: str, dataset: str = "mmlu") -> list[MCQuestion]:
    out = []
    with io.StringIO(read_text(path), newline="") as fh:
        reader = csv.reader(fh)
        for i, row in enumerate(reader, start=1):
            line = reader.line_num
            if not row:
                continue
            if len(row) != 6:
                raise DataError(path, f"expected 6 columns (question,A,B,C,D,answer), got {len(row)}", line=line)
            rec = MCQuestion(
                id=f"{subject}-{split}-{i}", question=row[0], options=dict(zip("ABCD", row[1:5])),
                answer=row[5].strip(), dataset=f"{dataset}_{subject}", split=split, subject=subject,
            )
            out.append(validate(rec, path, line))
    return out


def load_mmlu(folder: Path, subject: str, split: str = "test") -> list[MCQuestion]:
    if subject != "all" and subject not in SUBJECTS:
        raise DataError(folder, f"unknown MMLU subject {subject!r}; one of {', '.join(SUBJECTS)}", field="subject")
    subjects = SUBJECTS if subject == "all" else (subject,)
    return [q for s in subjects for q in load_mmlu_file(folder / split / f"{s}_{split}.csv", s, split)]
