"""MedQA test questions as physicians judged them (Med-Gemini's relabelling, Saab et al. 2024; CC-BY-4.0):
`medqa_relabelling.csv`, one row per (question, physician), three physicians per question (four on three).

Per physician, as the relabelling's own analysis combines the two passes: `answerable` and `answers` are the
after-seeing-the-key values when the physician changed their answer (`seen_answerable` / `seen_answers` filled), the
blind ones otherwise; the key stands when MedQA's `answer_idx` is among those answers.

The physician-sound rule (`SOUND_RULE`): a question is sound when a strict majority of its physicians (2 of 3, 3 of 4)
found it answerable, a strict majority kept MedQA's key among their answers, and a strict majority did not flag
important information as missing (each judged separately).

The relabelling's `qid` is its own numbering: questions are matched to a MedQA file by their text, compared on letters
and digits only (the two copies differ in quotes and spacing), never by number (`match_by_text`).
"""

from __future__ import annotations

import ast
import csv
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from clinqa.data.errors import DataError
from clinqa.data.loaders.common import require_file

RELPATH = "medqa_relabelling/medqa_relabelling.csv"
SOUND_RULE = ("a strict majority of its physicians found it answerable, a strict majority kept MedQA's key among "
              "their answers (after seeing the key), and a strict majority did not flag important information as "
              "missing")
BOOL = {"TRUE": True, "FALSE": False, "": None}


@dataclass(frozen=True)
class Judgement:
    rater: str
    answerable: bool
    key_kept: bool
    important_missing: bool


@dataclass
class RelabelledQuestion:
    qid: str
    question: str
    key: str
    judgements: list[Judgement]

    def _majority(self, attr: str, value: bool = True) -> bool:
        return sum(getattr(j, attr) == value for j in self.judgements) * 2 > len(self.judgements)

    @property
    def sound(self) -> bool:
        return (self._majority("answerable") and self._majority("key_kept")
                and self._majority("important_missing", False))


def _bool(row: dict, col: str, path: Path, line: int) -> bool | None:
    v = (row.get(col) or "").strip().upper()
    if v not in BOOL:
        raise DataError(path, f"expected TRUE, FALSE or empty, got {row.get(col)!r}", line=line, field=col)
    return BOOL[v]


def _letters(row: dict, col: str, path: Path, line: int) -> list[str]:
    v = (row.get(col) or "").strip()
    if not v:
        return []
    try:
        out = ast.literal_eval(v)
    except (ValueError, SyntaxError):
        out = None
    if not isinstance(out, list) or not all(isinstance(x, str) for x in out):
        raise DataError(path, f"expected a list of option letters like ['C'], got {v[:40]!r}", line=line, field=col)
    return out


def read_relabelling(path: str | Path) -> list[RelabelledQuestion]:
    """Questions in first-seen order, each with every physician's judgement."""
    path = require_file(Path(path))
    by_qid: dict[str, RelabelledQuestion] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        for row in reader:
            line = reader.line_num
            for col in ("qid", "question", "answer_idx", "worker_id"):
                if not (row.get(col) or "").strip():
                    raise DataError(path, "missing field", line=line, field=col)
            seen = _letters(row, "seen_answers", path, line)
            answers = seen or _letters(row, "blind_answers", path, line)
            seen_ok = _bool(row, "seen_answerable", path, line)
            answerable = seen_ok if seen_ok is not None else bool(_bool(row, "blind_answerable", path, line))
            q = by_qid.setdefault(row["qid"], RelabelledQuestion(row["qid"], row["question"], row["answer_idx"], []))
            q.judgements.append(Judgement(row["worker_id"], answerable, row["answer_idx"] in answers,
                                          bool(_bool(row, "important_info_missing", path, line))))
    if not by_qid:
        raise DataError(path, "no rows")
    return list(by_qid.values())


def text_key(text: str) -> str:
    """Letters and digits only, lower case: the two copies of MedQA differ in quotes and spaces."""
    return re.sub(r"[^0-9a-z]", "", text.lower())


def match_by_text(relabelled: list[RelabelledQuestion], records: list) -> tuple[dict[str, str], list[str]]:
    """({relabelling qid: record id}, [qids with no unique match]) for records with `.question` and `.id`."""
    index = defaultdict(list)
    for rec in records:
        index[text_key(rec.question)].append(rec.id)
    mapping, unmatched = {}, []
    for q in relabelled:
        hits = index.get(text_key(q.question), [])
        if len(hits) == 1:
            mapping[q.qid] = hits[0]
        else:
            unmatched.append(q.qid)
    return mapping, unmatched
