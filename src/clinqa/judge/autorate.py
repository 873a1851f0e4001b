"""Automatic rater: an LLM grader applying the human study's rubric (12 physician axes, 2 lay axes, or the 9 pairwise
axes) through any backend.

The grader is asked for one JSON object mapping every axis key to one of that axis's allowed values. Output is
accepted only if every axis is present with an allowed value (case and surrounding punctuation are forgiven); a
"key: value" line format is accepted as well. Where the backend can constrain (llama.cpp, vLLM, openai in chat mode)
the reply is decoded under the rubric's JSON schema (`clinqa.eval.grading`), so it parses unless cut off by
max_tokens. On malformed output it retries (greedy first, then sampled with new seeds). Every attempt's raw text is stored with the rating, and a rating that never
parsed is stored as failed.
Pairwise: the two answers are shown in a seeded random order, recorded so that analysis can un-blind it.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from typing import Sequence

from clinqa.eval.batching import batched
from clinqa.eval.grading import grade_with_retries, rubric_schema
from clinqa.eval.loop import derive_seed, run_items
from clinqa.eval.provenance import provenance
from clinqa.models.base import Backend
from clinqa.prompts.grader import grader_prompt
from clinqa.data.rubric import Axis, Rubric, load_rubric
from clinqa.eval.store import Store


class GradeParseError(ValueError):
    pass


def _canon(value: str, axis: Axis) -> str | None:
    v = str(value).strip().strip('"\'.').lower()
    for option in axis.scale:
        if v == option.lower():
            return option
    return None


def parse_grade(text: str, axes: Sequence[Axis]) -> dict[str, str]:
    """{axis key: allowed value} or GradeParseError naming what is wrong."""
    found: dict = {}
    m = re.search(r"\{.*\}", text, re.S)
    if m:
        try:
            obj = json.loads(m.group(0))
            if isinstance(obj, dict):
                found = obj
        except json.JSONDecodeError:
            pass
    if not found:
        for line in text.splitlines():
            k, sep, v = line.partition(":")
            if sep:
                found[k.strip().strip('-*" ').lower()] = v
    out, problems = {}, []
    for a in axes:
        if a.key not in found:
            problems.append(f"{a.key}: missing")
            continue
        value = _canon(found[a.key], a)
        if value is None:
            problems.append(f"{a.key}: {str(found[a.key])[:40]!r} is not one of {list(a.scale)}")
        else:
            out[a.key] = value
    if problems:
        raise GradeParseError("; ".join(problems))
    return out


@dataclass
class Grade:
    values: dict[str, str] | None
    raw: list[str]
    error: str | None


def grade(backend: Backend, kind: str, axes, question: str, answers: Sequence[str], seed: int, retries: int = 3,
          max_tokens: int = 400, constrained: bool = True, via=None) -> Grade:
    """One rating with the grader protocol (`eval.grading`): under the rubric's JSON schema where the backend can
    constrain, otherwise free text started with "{" and parsed. Requests go to `via` (the batcher of a concurrent
    run) or to the backend itself."""
    graded = grade_with_retries(via or backend, [grader_prompt(kind, axes, question, answers)],
                                lambda text: parse_grade(text, axes), [seed], retries, max_tokens,
                                rubric_schema(axes) if constrained else None, prefix="{")[0]
    return Grade(graded.value, graded.raw, graded.error)


def autorate(store: Store, backend: Backend, kind: str = "physician", sources: Sequence[str] | None = None,
             rubric: Rubric | None = None, retries: int = 3, seed: int = 0, progress=None,
             concurrency: int | None = None) -> list[dict]:
    """Rate every stored answer (independent kinds) or every question answered by both of two sources (pairwise).
    `concurrency` ratings are in flight at once (default: the backend's own), their requests batched; each rating is
    seeded from its own id, so the ratings do not depend on it."""
    rubric = rubric or load_rubric()
    axes = rubric.axes(kind)
    rater = f"auto:{backend.name}"
    done = store.rated_ids(rater)
    if store.run_info():
        store.record_provenance(provenance({"autorate": {"rater": rater, "kind": kind, "rubric": rubric.name,
                                                         "sources": list(sources or []), "retries": retries,
                                                         "seed": seed}},
                                           {"spec": backend.name, "backend": backend.describe()}, []))
    jobs = []
    if kind == "pairwise":
        if not sources or len(sources) != 2:
            raise ValueError("pairwise autorating needs exactly two sources, e.g. --sources modelA,physician")
        a, b = ({x["qid"]: x for x in store.answers(s)} for s in sources)
        for qid in [q for q in a if q in b]:
            pair = [a[qid], b[qid]]
            if random.Random(f"{seed}:{qid}").random() < 0.5:
                pair.reverse()
            jobs.append((f"{rater}:pairwise:{pair[0]['answer_id']}|{pair[1]['answer_id']}", pair))
    else:
        for ans in store.answers():
            if not sources or ans["source"] in sources:
                jobs.append((f"{rater}:{kind}:{ans['answer_id']}", [ans]))

    def one(job, via=None) -> dict:
        rid, pair = job
        # the seed is the rating's own, so a resumed run grades exactly as an uninterrupted one
        g = grade(backend, kind, axes, pair[0]["question"], [p["text"] for p in pair],
                  seed=derive_seed(seed, rid, "grade"), retries=retries, via=via)
        return dict(rating_id=rid, rater=rater, kind=kind, answer_id=pair[0]["answer_id"],
                    other_answer_id=pair[1]["answer_id"] if len(pair) > 1 else None, values=g.values,
                    ok=g.values is not None, raw=g.raw,
                    meta={"error": g.error, "attempts": len(g.raw), "rubric": rubric.name,
                          "answer_1": pair[0]["answer_id"], "answer_2": pair[1]["answer_id"] if len(pair) > 1 else None})

    with batched(backend, concurrency) as (conc, batcher):
        run_items(jobs, lambda job: job[0], done, lambda job: one(job, batcher), store.save_rating,
                  (lambda d, t, info: progress(d, t)) if progress else None, conc, batcher=batcher)
    return [r for r in store.ratings(rater) if r["kind"] == kind]
