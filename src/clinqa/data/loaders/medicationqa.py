"""MedicationQA (MedInfo 2019) Excel sheet: Question, Focus (Drug), Question Type, Answer, Section Title, URL."""

from __future__ import annotations

from pathlib import Path

from clinqa.data.errors import DataError
from clinqa.data.loaders.common import require_file, validate
from clinqa.data.records import LongFormQuestion

COLUMNS = ("Question", "Focus (Drug)", "Question Type", "Answer", "Section Title", "URL")


def load_medicationqa(path: Path, dataset: str = "medicationqa", split: str = "test") -> list[LongFormQuestion]:
    import openpyxl

    require_file(path)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises several types for a bad zip/xml
        raise DataError(path, f"cannot read Excel workbook ({e})") from None
    rows = wb.worksheets[0].iter_rows(values_only=True)
    header = [str(c).strip() if c is not None else "" for c in next(rows, ())]
    missing = [c for c in ("Question", "Answer") if c not in header]
    if missing:
        raise DataError(path, f"header row lacks column(s) {missing}; found {header}", line=1, field=missing[0])
    col = {name: header.index(name) for name in COLUMNS if name in header}
    out = []
    for line, row in enumerate(rows, start=2):
        if row is None or all(c is None for c in row):
            continue
        get = lambda name: (row[col[name]] if name in col and col[name] < len(row) else None)  # noqa: E731
        answer = get("Answer")
        rec = LongFormQuestion(
            id=f"{dataset}-{line - 1}", question=str(get("Question") or "").strip(), dataset=dataset, split=split,
            references=(str(answer).strip(),) if answer else (),
            extra={"focus": get("Focus (Drug)"), "type": get("Question Type"), "url": get("URL")},
        )
        out.append(validate(rec, path, line))
    wb.close()
    return out
