"""Data layer: typed records, one loader per file format, and where the data root is. Benchmarks (which file, which
split, what counts are expected) are declared as tasks in `clinqa.tasks`."""

from clinqa.data.errors import DataError
from clinqa.data.records import LongFormQuestion, MCQuestion
from clinqa.data.registry import data_root

__all__ = ["DataError", "LongFormQuestion", "MCQuestion", "data_root"]
