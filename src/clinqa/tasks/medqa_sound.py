"""`medqa-sound`: the MedQA (4-option) test questions that the Med-Gemini relabelling physicians judged sound (rule in
`clinqa.data.loaders.medqa_relabel.SOUND_RULE`: 1,142 of 1,273 with the shared data), matched to MedQA by text. The
records are MedQA's own (same ids, `medqa-test-<line>`), so `clinqa report` over a `medqa` run and a `medqa-sound` run
also shows the full run's accuracy on the sound questions."""

from __future__ import annotations

from dataclasses import replace

from clinqa.data.errors import DataError
from clinqa.data.loaders.medqa import load_medqa
from clinqa.data.loaders.medqa_relabel import RELPATH, SOUND_RULE, match_by_text, read_relabelling
from clinqa.tasks.medqa import MEDQA


def sound_questions(split: str, root) -> list:
    records = load_medqa(root / MEDQA.relpath, "medqa", split)
    relabelled = read_relabelling(root / RELPATH)
    mapping, unmatched = match_by_text(relabelled, records)
    if unmatched:
        raise DataError(root / RELPATH, f"{len(unmatched)} relabelled questions match no single MedQA question by "
                        f"text (first: qid {unmatched[0]})", field="question")
    keep = {mapping[q.qid] for q in relabelled if q.sound}
    return [r for r in records if r.id in keep]


MEDQA_SOUND = replace(
    MEDQA, name="medqa-sound", loader=sound_questions, splits={"test": 1142},
    source="MedQA USMLE 4-option, physician-sound subset of the Med-Gemini relabelling (Saab et al. 2024)",
    license="MIT (questions); CC-BY-4.0 (relabelling)",
    description=f"MedQA questions judged sound: {SOUND_RULE}")

TASKS = [MEDQA_SOUND]
