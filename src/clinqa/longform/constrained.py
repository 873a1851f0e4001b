"""Structured grader output: a JSON schema for each grader reply, enforced by constrained decoding where the backend
offers it (`Backend.supports_json_schema`): a request's `json_schema` becomes a GBNF grammar in each sequence's
sampler on llama.cpp, vLLM's structured outputs on vLLM, and `response_format` on the openai backend in chat mode. The
model can then only emit a JSON object whose values are the rubric's allowed values, and constrained requests batch
like any other. Other backends generate freely and the parser (with retries) decides.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Sequence

from clinqa.models.base import Backend, GenRequest
from clinqa.rating.rubric import Axis


def rubric_schema(axes: Sequence[Axis]) -> dict:
    return {"type": "object", "properties": {a.key: {"type": "string", "enum": list(a.scale)} for a in axes},
            "required": [a.key for a in axes], "additionalProperties": False}


CRITERIA_SCHEMA = {"type": "object", "properties": {"explanation": {"type": "string", "maxLength": 400},
                                                    "criteria_met": {"type": "boolean"}},
                   "required": ["explanation", "criteria_met"], "additionalProperties": False}


def supports_schema(backend: Backend) -> bool:
    return bool(getattr(backend, "supports_json_schema", False))


def constrain(req: GenRequest, schema: dict) -> GenRequest:
    """`req` decoded once under `schema` (the prefix is dropped: the grammar starts the object itself)."""
    return replace(req, prefix="", n=1, json_schema=json.dumps(schema))
