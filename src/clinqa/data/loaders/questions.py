"""Long-form question files: a user's CSV or JSONL of questions (and optionally answers), our shipped adversarial sets,
and EquityMedQA (Pfohl et al. 2024, CC-BY-4.0) from local CSVs or its Hugging Face id `katielink/EquityMedQA`."""

from __future__ import annotations

import csv
import io
from importlib import resources
from pathlib import Path

from clinqa.data.errors import DataError
from clinqa.data.loaders.common import read_jsonl, read_text, require_file, validate
from clinqa.data.records import LongFormQuestion

QUESTION_KEYS = ("question", "Question", "QUESTION", "query", "prompt")
ANSWER_KEYS = ("answer", "Answer", "reference", "response")


def _pick(row: dict, keys) -> str | None:
    for k in keys:
        if row.get(k) not in (None, ""):
            return str(row[k])
    return None


def _record(row: dict, i: int, path: Path, dataset: str, line: int | None) -> LongFormQuestion:
    q = _pick(row, QUESTION_KEYS)
    if q is None:
        raise DataError(path, f"no question column (one of {', '.join(QUESTION_KEYS)})", line=line, field="question")
    ans = _pick(row, ANSWER_KEYS)
    extra = {k: v for k, v in row.items() if k not in QUESTION_KEYS + ANSWER_KEYS + ("id",)}
    rec = LongFormQuestion(str(row.get("id") or f"{dataset}-{i}"), q.strip(), dataset, "test",
                           (ans.strip(),) if ans else (), extra)
    return validate(rec, path, line)


def load_question_file(path: str | Path, dataset: str | None = None) -> list[LongFormQuestion]:
    """A CSV (with a header) or JSONL file with a question column; optional id, answer and other columns."""
    path = Path(path)
    dataset = dataset or path.stem
    require_file(path)
    if path.suffix.lower() in (".jsonl", ".json"):
        out = [_record(obj, i, path, dataset, line) for i, (line, obj) in enumerate(read_jsonl(path), 1)]
    elif path.suffix.lower() in (".csv", ".tsv"):
        with io.StringIO(read_text(path), newline="") as fh:
            reader = csv.DictReader(fh, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
            out = [_record(row, i, path, dataset, reader.line_num) for i, row in enumerate(reader, 1)]
    else:
        raise DataError(path, "question files must be .csv, .tsv or .jsonl")
    if not out:
        raise DataError(path, "no questions (the file is empty or blank)")
    ids = [r.id for r in out]
    dup = next((i for i in ids if ids.count(i) > 1), None)
    if dup:
        raise DataError(path, f"duplicate id {dup!r}", record=dup, field="id")
    return out


def load_adversarial(name: str) -> list[LongFormQuestion]:
    """Our shipped sets: 'general' (40) or 'equity' (40, with counterfactual pairs)."""
    path = Path(str(resources.files("clinqa") / "resources" / "adversarial" / f"{name}.jsonl"))
    return load_question_file(path, f"adversarial_{name}")


def load_equitymedqa(subset: str, folder: str | Path | None = None) -> list[LongFormQuestion]:
    """EquityMedQA subset (e.g. 'omaq', 'ehai', 'fbrt_manual', 'cc_manual', 'trinds', 'multimedqa').

    From `folder/<subset>.csv` when a folder is given (or $CLINQA_EQUITYMEDQA is set), else from the hub."""
    import os
    folder = folder or os.environ.get("CLINQA_EQUITYMEDQA")
    if folder:
        return load_question_file(Path(folder) / f"{subset}.csv", f"equitymedqa_{subset}")
    try:
        from datasets import load_dataset
    except ImportError as e:
        raise DataError("hf:katielink/EquityMedQA", "needs the datasets package") from e
    ds = load_dataset("katielink/EquityMedQA", subset, split="train")
    src = Path(f"hf:katielink/EquityMedQA/{subset}")
    return [_record(dict(row), i, src, f"equitymedqa_{subset}", None) for i, row in enumerate(ds, 1)]
