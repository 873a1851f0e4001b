"""Data layer: typed records, one loader per MultiMedQA dataset, and the registry that names them."""

from clinqa.data.errors import DataError
from clinqa.data.records import LongFormQuestion, MCQuestion
from clinqa.data.registry import REGISTRY, DatasetSpec, data_root, load

__all__ = ["DataError", "LongFormQuestion", "MCQuestion", "REGISTRY", "DatasetSpec", "data_root", "load"]
