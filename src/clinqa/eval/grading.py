"""The grader protocol every LLM judge in clinqa follows (HealthBench's rubric grader, the study-rubric autorater,
the jury, the judge probes): a prompt, a JSON schema for the reply, a parser, retries and seeds.

- Where the backend can constrain (`Backend.supports_json_schema`: llama.cpp's grammar, vLLM's structured outputs,
  the openai backend's `response_format` in chat mode), each reply is decoded under the schema, so it parses unless
  cut off by max_tokens; other backends generate freely (after an optional prefix such as "{") and the parser
  decides.
- A reply that does not parse is retried: the first attempt is greedy, later ones sampled at temperature 0.7, attempt
  k of a case seeded with its seed + k, so a grade does not depend on what it was batched with.
- Each round of attempts is one `generate` call over the cases still unparsed, so a batching backend decodes them
  together.
Every attempt's raw text is kept; a case that never parsed has value None and the last parse error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

from clinqa.data.rubric import Axis
from clinqa.models.base import Backend, GenRequest

CRITERIA_SCHEMA = {"type": "object", "properties": {"explanation": {"type": "string", "maxLength": 400},
                                                    "criteria_met": {"type": "boolean"}},
                   "required": ["explanation", "criteria_met"], "additionalProperties": False}


def rubric_schema(axes: Sequence[Axis]) -> dict:
    return {"type": "object", "properties": {a.key: {"type": "string", "enum": list(a.scale)} for a in axes},
            "required": [a.key for a in axes], "additionalProperties": False}


def supports_schema(backend: Backend) -> bool:
    return bool(getattr(backend, "supports_json_schema", False))


def constrain(req: GenRequest, schema: dict) -> GenRequest:
    """`req` decoded once under `schema` (the prefix is dropped: the grammar starts the object itself)."""
    return replace(req, prefix="", n=1, json_schema=json.dumps(schema))


@dataclass
class Graded:
    value: Any                  # what the parser returned, or None when no attempt parsed
    raw: list[str]              # every attempt's reply (with the prefix it was started with)
    error: str | None = None    # the last parse error when none parsed


def grade_with_retries(grader, prompts: Sequence[str], parse: Callable[[str], Any], seeds: Sequence[int],
                       retries: int = 2, max_tokens: int = 300, schema: dict | None = None,
                       prefix: str = "") -> list[Graded]:
    """Grade each prompt: ask, parse, and ask again (sampled, new seed) what did not parse, `retries` times at most.
    `schema` is used where `grader` can constrain; `parse` raises ValueError on a reply it cannot read."""
    schema = schema if schema is not None and supports_schema(grader) else None
    out = [Graded(None, []) for _ in prompts]
    todo = list(range(len(prompts)))
    for attempt in range(retries + 1):
        if not todo:
            break
        reqs = [GenRequest(prompts[i], prefix=prefix, max_tokens=max_tokens,
                           temperature=0.0 if attempt == 0 else 0.7, seed=seeds[i] + attempt) for i in todo]
        replies = grader.generate([constrain(r, schema) if schema else r for r in reqs])
        still = []
        for i, reply in zip(todo, replies):
            text = reply.texts[0] if schema else prefix + reply.texts[0]
            out[i].raw.append(text)
            try:
                out[i].value, out[i].error = parse(text), None
            except ValueError as e:
                out[i].error = str(e)
                still.append(i)
        todo = still
    return out
