"""Exemplar files: few-shot / CoT exemplars as multiple-choice records with explanations. clinqa ships six
USMLE-style questions with explanations written for it (`resources/exemplars/medical_cot.jsonl`; option E dropped
for 4-option sets); `--exemplars FILE.jsonl` (fields question, options, answer, explanation) replaces them. Which
exemplars a question gets is decided in `clinqa.strategies.exemplars`."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from clinqa.data.errors import DataError
from clinqa.data.loaders.common import read_jsonl, validate
from clinqa.data.records import MCQuestion

SHIPPED = "medical_cot.jsonl"


def read_exemplar_file(path: Path | None, n_options: int) -> list[MCQuestion]:
    """Exemplars from a JSONL file (question, options, answer, explanation); the shipped file when path is None."""
    if path is None:
        path = Path(str(resources.files("clinqa") / "resources" / "exemplars" / SHIPPED))
    out = []
    for line, obj in read_jsonl(Path(path)):
        opts = obj.get("options")
        if not isinstance(opts, dict):
            raise DataError(path, "options must be an object of letter -> text", line=line, field="options")
        letters = sorted(opts)[:n_options] if len(opts) > n_options else sorted(opts)
        rec = MCQuestion(id=str(obj.get("id", f"exemplar-{line}")), question=str(obj.get("question") or ""),
                         options={k: opts[k] for k in letters}, answer=str(obj.get("answer") or ""),
                         dataset="exemplars", split="fixed", explanation=obj.get("explanation"))
        out.append(validate(rec, path, line))
    return out
