"""HealthBench (Arora et al. 2025) graded the way OpenAI's simple-evals does, with any clinqa backend as the grader.

- Examples: HealthBench's JSONL (prompt_id, prompt = list of {role, content}, rubrics = list of {criterion, points,
  tags}, example_tags, ideal_completions_data) from a local path or, where there is network, the public URL.
- Grading: each rubric criterion is put to the grader with simple-evals' GRADER_TEMPLATE (verbatim, MIT licence, in
  `resources/healthbench/`); the reply must be a JSON object with a boolean "criteria_met" (markdown fences
  allowed; on llama.cpp it is decoded under that JSON schema). A reply that does not parse is retried (greedy,
  then sampled); after the retries the criterion counts as unparsed and the example is left out of the scores
  (simple-evals retries forever; clinqa reports the parse rate).
- Score of an example: points of the criteria met (negative ones too) over the sum of positive points; by tag: the
  example's tags ("theme:...") get the example's score, rubric tags ("axis:...") the score over that tag's criteria.
  The mean over examples is clipped to [0, 1] (simple-evals), with a 95% percentile bootstrap interval.
- Completions graded: a responder model's, a JSONL of {prompt_id, completion}, or the physicians' ideal completions
  (`ideal_completions_data.ideal_completion`, simple-evals' physician-completions mode).
The meta-eval (grader vs physician labels) is in `clinqa.healthbench_meta`.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Sequence

import numpy as np

from clinqa.data.errors import DataError
from clinqa.models.base import Backend, GenRequest
from clinqa.stats import Interval

URL = "https://openaipublic.blob.core.windows.net/simple-evals/healthbench/2025-05-07-06-14-12_oss_eval.jsonl"
SAMPLE = Path(str(resources.files("clinqa") / "resources" / "healthbench" / "sample_eval.jsonl"))
GRADER_TEMPLATE = (resources.files("clinqa") / "resources" / "healthbench" / "grader_template.txt").read_text().strip()


@dataclass(frozen=True)
class RubricItem:
    criterion: str
    points: float
    tags: tuple[str, ...]

    def __str__(self) -> str:          # as simple-evals shows it to the grader
        return f"[{self.points}] {self.criterion}"


@dataclass
class Example:
    prompt_id: str
    prompt: list[dict]
    rubrics: list[RubricItem]
    example_tags: list[str]
    ideal_completion: str | None = None

    @property
    def id(self) -> str:
        """The record id every task's records carry (HealthBench's prompt_id)."""
        return self.prompt_id


def read_jsonl(path: str | Path) -> list[tuple[int, dict]]:
    """(line number, object) for each line of a local file or a URL; DataError on malformed JSON."""
    from clinqa.data.loaders.common import parse_jsonl
    if str(path).startswith(("http://", "https://")):
        import urllib.request
        with urllib.request.urlopen(str(path), timeout=60) as r:      # noqa: S310 (a fixed public data URL)
            return list(parse_jsonl(r.read().splitlines(keepends=True), path))
    if not Path(path).exists():
        raise DataError(path, "no such file")
    with open(path, "rb") as fh:
        return list(parse_jsonl(fh, path))


def _need(row: dict, key: str, kind, path, line):
    if key not in row:
        raise DataError(path, "missing field", line=line, field=key)
    if not isinstance(row[key], kind):
        raise DataError(path, f"expected {kind.__name__}, got {type(row[key]).__name__}", line=line, field=key)
    return row[key]


def load_examples(path: str | Path = SAMPLE) -> list[Example]:
    out = []
    for i, row in read_jsonl(path):
        prompt = _need(row, "prompt", list, path, i)
        for m in prompt:
            if not isinstance(m, dict) or "role" not in m or "content" not in m:
                raise DataError(path, "each message needs role and content", line=i, field="prompt")
        items = []
        for j, r in enumerate(_need(row, "rubrics", list, path, i)):
            if not isinstance(r, dict) or not {"criterion", "points", "tags"} <= set(r):
                raise DataError(path, "needs criterion, points and tags", line=i, field=f"rubrics[{j}]")
            items.append(RubricItem(str(r["criterion"]), float(r["points"]), tuple(r["tags"])))
        ideal = (row.get("ideal_completions_data") or {}).get("ideal_completion")
        out.append(Example(str(_need(row, "prompt_id", str, path, i)), prompt, items,
                           list(row.get("example_tags") or []), ideal))
    return out


def conversation(prompt: list[dict], completion: str) -> str:
    return "\n\n".join(f"{m['role']}: {m['content']}" for m in prompt + [dict(role="assistant", content=completion)])


def parse_criteria_met(text: str) -> bool:
    """The grader's "criteria_met" boolean; ValueError if the reply has none."""
    cleaned = re.sub(r"^```json\s*|\s*```$", "", text.strip())
    candidates = [cleaned] + re.findall(r"\{.*?\}", text, re.S)
    for c in candidates:
        try:
            obj = json.loads(c)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and isinstance(obj.get("criteria_met"), bool):
            return obj["criteria_met"]
    raise ValueError(f"no boolean criteria_met in {text[:80]!r}")


def grade_criteria(grader: Backend, cases: Sequence[tuple[str, RubricItem | str, int]], retries: int = 2,
                   max_tokens: int = 300, constrained: bool = True) -> list[tuple[bool | None, list[str]]]:
    """Grade (conversation, criterion, seed) cases: for each, True / False, or None when no attempt parsed, and every
    raw reply. Each round of attempts is one `generate` call over the cases still unparsed (a batching backend decodes
    them together); attempt k of a case draws with its seed + k, so the grades do not depend on the batch. Where the
    backend can constrain, each reply is decoded under the JSON schema {explanation, criteria_met}
    (`clinqa.longform.constrained`)."""
    from clinqa.longform.constrained import CRITERIA_SCHEMA, constrain, supports_schema
    schema = constrained and supports_schema(grader)
    prompts = [GRADER_TEMPLATE.replace("<<conversation>>", convo).replace("<<rubric_item>>", str(item))
               for convo, item, _ in cases]
    out: list[tuple[bool | None, list[str]]] = [(None, []) for _ in cases]
    todo = list(range(len(cases)))
    for attempt in range(retries + 1):
        if not todo:
            break
        reqs = [GenRequest(prompts[i], max_tokens=max_tokens, temperature=0.0 if attempt == 0 else 0.7,
                           seed=cases[i][2] + attempt) for i in todo]
        replies = grader.generate([constrain(r, CRITERIA_SCHEMA) if schema else r for r in reqs])
        still = []
        for i, reply in zip(todo, replies):
            out[i][1].append(reply.texts[0])
            try:
                out[i] = (parse_criteria_met(reply.texts[0]), out[i][1])
            except ValueError:
                still.append(i)
        todo = still
    return out


def grade_criterion(grader: Backend, convo: str, item: RubricItem | str, seed: int = 0, retries: int = 2,
                    max_tokens: int = 300, constrained: bool = True) -> tuple[bool | None, list[str]]:
    """One criterion (`grade_criteria` of one case)."""
    return grade_criteria(grader, [(convo, item, seed)], retries, max_tokens, constrained)[0]


def score(items: list[RubricItem], met: list[bool]) -> float | None:
    positive = sum(i.points for i in items if i.points > 0)
    if positive == 0:
        return None
    return sum(i.points for i, m in zip(items, met) if m) / positive


def example_metrics(ex: Example, met: list[bool]) -> dict[str, float]:
    overall = score(ex.rubrics, met)
    out = {"overall_score": overall, **{t: overall for t in ex.example_tags}}
    by_tag = defaultdict(list)
    for item, m in zip(ex.rubrics, met):
        for t in set(item.tags):
            by_tag[t].append((item, m))
    for t, pairs in by_tag.items():
        s = score([p[0] for p in pairs], [p[1] for p in pairs])
        if s is not None:
            out[t] = s
    return out


def clipped_mean(values, n_boot: int = 1000, seed: int = 0) -> Interval:
    """Mean clipped to [0, 1] with a percentile bootstrap interval (resampling examples)."""
    v = np.asarray(values, float)
    rng = np.random.default_rng(seed)
    boots = np.clip(v[rng.integers(0, v.size, (n_boot, v.size))].mean(1), 0, 1)
    return Interval(float(np.clip(v.mean(), 0, 1)), float(np.quantile(boots, 0.025)), float(np.quantile(boots, 0.975)))


@dataclass
class HealthBenchResult:
    metrics: dict[str, tuple[Interval, int]]        # name -> (clipped mean [95% CI], examples)
    examples: list[dict] = field(default_factory=list)
    criteria: int = 0
    parsed: int = 0

    @property
    def parse_rate(self) -> float:
        return self.parsed / self.criteria if self.criteria else float("nan")


def run_healthbench(examples: list[Example], grader: Backend, completions: dict[str, str] | None = None,
                    responder: Backend | None = None, retries: int = 2, seed: int = 0, n_boot: int = 1000,
                    progress=None) -> HealthBenchResult:
    """Grade one completion per example: completions[prompt_id], else the responder's, else the ideal completion."""
    res, per = HealthBenchResult({}), defaultdict(list)
    for k, ex in enumerate(examples):
        text = (completions or {}).get(ex.prompt_id)
        if text is None and responder is not None:
            chat = "\n\n".join(f"{m['role']}: {m['content']}" for m in ex.prompt)
            text = responder.generate([GenRequest(chat, max_tokens=512, seed=seed)])[0].texts[0]
        if text is None:
            text = ex.ideal_completion
        if text is None:
            continue
        convo = conversation(ex.prompt, text)
        grades = grade_criteria(grader, [(convo, item, seed + 17 * j) for j, item in enumerate(ex.rubrics)], retries)
        met = [g[0] for g in grades]
        res.criteria += len(met)
        res.parsed += sum(m is not None for m in met)
        row = {"prompt_id": ex.prompt_id, "completion": text, "criteria_met": met, "raw": [g[1] for g in grades]}
        if all(m is not None for m in met):
            row["metrics"] = example_metrics(ex, met)
            for name, v in row["metrics"].items():
                if v is not None:
                    per[name].append(v)
        res.examples.append(row)
        if progress:
            progress(k + 1, len(examples))
    res.metrics = {name: (clipped_mean(v, n_boot, seed), len(v)) for name, v in sorted(per.items())}
    return res
