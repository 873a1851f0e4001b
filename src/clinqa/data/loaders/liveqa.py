"""LiveQA Medical TREC 2017 test XML: consumer questions, with NLM reference answers where given."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from clinqa.data.errors import DataError
from clinqa.data.loaders.common import require_file, validate
from clinqa.data.records import LongFormQuestion


def _text(el) -> str:
    return " ".join("".join(el.itertext()).split()) if el is not None else ""


def load_liveqa(path: Path, dataset: str = "liveqa", split: str = "test") -> list[LongFormQuestion]:
    require_file(path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise DataError(path, f"malformed XML ({e})", line=e.position[0]) from None
    out = []
    for q in root.iter("NLM-QUESTION"):
        qid = q.get("qid")
        if not qid:
            raise DataError(path, "NLM-QUESTION without qid", field="qid")
        orig = q.find("Original-Question")
        subject, message = _text(orig.find("SUBJECT")) if orig is not None else "", \
            _text(orig.find("MESSAGE")) if orig is not None else ""
        question = message if not subject or subject.lower() in message.lower() else f"{subject}. {message}"
        refs = tuple(_text(a) for a in q.iter("ANSWER") if _text(a))
        rec = LongFormQuestion(id=qid, question=question.strip(), dataset=dataset, split=split, references=refs,
                               extra={"paraphrase": _text(q.find("NIST-PARAPHRASE")) or None,
                                      "summary": _text(q.find("NLM-Summary")) or None})
        out.append(validate(rec, path))
    return out
