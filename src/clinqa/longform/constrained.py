"""Structured grader output: a JSON schema for each grader reply, enforced by constrained decoding where the backend
offers it. Today that is the llama.cpp backend (a GBNF grammar built from the schema by llama-cpp-python: the model
can only emit a JSON object whose values are the rubric's allowed values). Other backends generate freely and the
parser (with retries) decides; the GenRequest interface has no schema field yet, so this reaches into the llama.cpp
backend's `llm` and `render` (see the report: a `json_schema` field on GenRequest would let vLLM guided decoding
and OpenAI-compatible `response_format` do the same).
"""

from __future__ import annotations

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
    if not hasattr(backend, "generate_json"):
        return False
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return False
    return True


def generate_json(backend: Backend, req: GenRequest, schema: dict) -> str:
    """One completion constrained to `schema` on llama.cpp (the request's prefix is dropped: the grammar starts the
    object itself). Raises RuntimeError if the backend cannot constrain."""
    if not supports_schema(backend):
        raise RuntimeError(f"backend {backend.name!r} has no constrained decoding here")
    plain = GenRequest(req.prompt, "", 1, req.temperature, req.top_p, req.max_tokens, req.stop, req.seed)
    return backend.generate_json(plain, schema)       # under the backend's lock: safe beside concurrent requests
