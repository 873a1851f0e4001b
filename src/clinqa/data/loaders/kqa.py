"""K-QA (Manes et al. 2024; MIT): real patient questions with a physician's answer and physician-written must-have and
nice-to-have statements (`questions_w_answers.jsonl`), and (LLM answer, statement) pairs labelled Entailment / Neutral
/ Contradiction by three physicians each (`NLI_medical_annotator.csv`), the ground truth of the NLI judge."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from clinqa.data.errors import DataError
from clinqa.data.loaders.common import need, read_jsonl, require_file, validate
from clinqa.data.records import LongFormQuestion

QUESTIONS = "kqa/questions_w_answers.jsonl"
NLI_LABELS = "kqa/NLI_medical_annotator.csv"
LABELS = ("entailment", "neutral", "contradiction")
MUST, NICE = "must_have", "nice_to_have"


def load_kqa(path: Path, dataset: str = "kqa", split: str = "test") -> list[LongFormQuestion]:
    """Questions with the physician's answer as the reference and the statements in `extra` (must_have,
    nice_to_have: lists of strings; blank statements are dropped)."""
    out = []
    for line, obj in read_jsonl(path):
        rid = f"{dataset}-{split}-{line}"
        statements = {}
        for key, col in ((MUST, "Must_have"), (NICE, "Nice_to_have")):
            v = need(obj, col, path, line, rid)
            if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
                raise DataError(path, "expected a list of statements", line=line, record=rid, field=col)
            statements[key] = [s.strip() for s in v if s.strip()]       # the file has 3 blank must-haves
        rec = LongFormQuestion(rid, str(need(obj, "Question", path, line, rid)), dataset, split,
                               (str(need(obj, "Free_form_answer", path, line, rid)),),
                               extra=statements | {"icd10": obj.get("ICD_10_diag")})
        out.append(validate(rec, path, line))
    return out


@dataclass(frozen=True)
class LabelledPair:
    """One (answer, statement) pair with each physician's label and the file's majority label (lower case)."""
    answer_id: str              # the answer the statement was checked against (question + LLM)
    question: str
    answer: str
    statement: str
    category: str               # must_have | nice_to_have
    labels: tuple[str, ...]
    majority: str


def load_nli_labels(path: Path) -> list[LabelledPair]:
    require_file(path)
    out = []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        for row in reader:
            line = reader.line_num
            for col in ("Question", "llm_x", "answer", "claim", "category_x", "majority_label", "label_0"):
                if not (row.get(col) or "").strip():
                    raise DataError(path, "missing field", line=line, field=col)
            labels = []
            for col in ("label_0", "label_1", "label_2", "majority_label"):
                v = (row.get(col) or "").strip().lower()
                if v and v not in LABELS:
                    raise DataError(path, f"label {row[col]!r} is not one of {', '.join(LABELS)}", line=line,
                                    field=col)
                labels.append(v)
            cat = row["category_x"].strip().lower()
            if cat not in (MUST, NICE):
                raise DataError(path, f"category {row['category_x']!r} is not Must_have or Nice_to_have", line=line,
                                field="category_x")
            out.append(LabelledPair(f"{row['Question']}|{row['llm_x']}", row["Question"], row["answer"],
                                    row["claim"].strip(), cat, tuple(x for x in labels[:3] if x), labels[3]))
    return out
