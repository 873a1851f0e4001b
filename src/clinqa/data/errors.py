"""The one error type for bad input data: it always names the file, the line or record, and the field."""

from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """A data file is malformed. `str()` reads like `file:line: field 'x': problem`."""

    def __init__(self, path: str | Path, problem: str, *, line: int | None = None,
                 record: str | None = None, field: str | None = None):
        self.path, self.problem, self.line, self.record, self.field = str(path), problem, line, record, field
        where = self.path
        if line is not None:
            where += f":{line}"
        if record is not None:
            where += f" (record {record})"
        what = f"field '{field}': " if field else ""
        super().__init__(f"{where}: {what}{problem}")
