"""HealthBench's rubric grader (Arora et al. 2025), as openai/simple-evals grades, with any clinqa backend as grader.

- Each rubric criterion is put to the grader with simple-evals' GRADER_TEMPLATE (verbatim, MIT licence, in
  `resources/healthbench/`), which shows the conversation and the graded reply as a transcript. The reply must be a
  JSON object with a boolean "criteria_met" (markdown fences allowed), asked for with clinqa's grader protocol
  (`eval.grading`: schema where the backend constrains, retries greedy then sampled); after the retries the
  criterion counts as unparsed and the example is left out of the scores (simple-evals retries forever; clinqa
  reports the parse rate).
- Score of an example: points of the criteria met (negative ones too) over the sum of positive points; by tag: the
  example's tags ("theme:...") get the example's score, rubric tags ("axis:...") the score over that tag's criteria.
  The mean over examples is clipped to [0, 1] (simple-evals), with a 95% percentile bootstrap interval.
`HealthBenchScorer` is the scorer of the `healthbench` task in the eval core; the meta-eval (grader against physician
labels) is in `clinqa.eval.healthbench_meta`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources
from typing import Protocol, Sequence

import numpy as np

from clinqa.data.loaders.healthbench import RubricItem
from clinqa.eval.sample import Sample, Score
from clinqa.eval.grading import CRITERIA_SCHEMA, grade_with_retries
from clinqa.models.base import GenRequest, GenResult
from clinqa.stats import Interval, bootstrap

GRADER_TEMPLATE = (resources.files("clinqa") / "resources" / "healthbench" / "grader_template.txt").read_text().strip()


class Generator(Protocol):
    def generate(self, requests: Sequence[GenRequest]) -> list[GenResult]: ...


def conversation(prompt: list[dict], completion: str) -> str:
    """The transcript the grader reads: every turn, then the graded reply as the assistant's."""
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


def grade_criteria(grader: Generator, cases: Sequence[tuple[str, RubricItem | str, int]], retries: int = 2,
                   max_tokens: int = 300, constrained: bool = True) -> list[tuple[bool | None, list[str]]]:
    """Grade (conversation, criterion, seed) cases with the grader protocol (`eval.grading`): for each, True / False,
    or None when no attempt parsed, and every raw reply. Where the grader can constrain, replies follow
    {explanation, criteria_met}."""
    prompts = [GRADER_TEMPLATE.replace("<<conversation>>", convo).replace("<<rubric_item>>", str(item))
               for convo, item, _ in cases]
    graded = grade_with_retries(grader, prompts, parse_criteria_met, [c[2] for c in cases], retries, max_tokens,
                                CRITERIA_SCHEMA if constrained else None)
    return [(g.value, g.raw) for g in graded]


def grade_criterion(grader: Generator, convo: str, item: RubricItem | str, seed: int = 0, retries: int = 2,
                    max_tokens: int = 300, constrained: bool = True) -> tuple[bool | None, list[str]]:
    """One criterion (`grade_criteria` of one case)."""
    return grade_criteria(grader, [(convo, item, seed)], retries, max_tokens, constrained)[0]


def rubric_score(items: list[RubricItem], met: list[bool]) -> float | None:
    positive = sum(i.points for i in items if i.points > 0)
    if positive == 0:
        return None
    return sum(i.points for i, m in zip(items, met) if m) / positive


def example_metrics(rubrics: list[RubricItem], tags: list[str], met: list[bool]) -> dict[str, float]:
    overall = rubric_score(rubrics, met)
    out = {"overall_score": overall, **{t: overall for t in tags}}
    by_tag = defaultdict(list)
    for item, m in zip(rubrics, met):
        for t in set(item.tags):
            by_tag[t].append((item, m))
    for t, pairs in by_tag.items():
        s = rubric_score([p[0] for p in pairs], [p[1] for p in pairs])
        if s is not None:
            out[t] = s
    return out


def clipped_mean(values, n_boot: int = 1000, seed: int = 0) -> Interval:
    """Mean clipped to [0, 1] with a percentile bootstrap interval (resampling examples)."""
    v = np.asarray(values, float)
    return bootstrap(lambda x: np.clip(x.mean(1), 0, 1), v, n_boot=n_boot, seed=seed,
                     estimate=float(np.clip(v.mean(), 0, 1)) if v.size else None)


@dataclass
class HealthBenchScorer:
    """Grades a sample's completion on every criterion of its rubric through the run's grader channel."""

    name = "healthbench"
    needs_grader = True
    retries: int = 2
    max_tokens: int = 300

    def identity(self) -> dict:
        """What makes its scores: a changed template or retry budget is a different run."""
        return {"grader_template": hashlib.sha256(GRADER_TEMPLATE.encode()).hexdigest()[:16],
                "retries": self.retries, "max_tokens": self.max_tokens}

    def __call__(self, sample: Sample, outcome, ctx) -> Score:
        convo = conversation(sample.messages, outcome.completion)
        cases = [(convo, item, ctx.seed(f"criterion{j}")) for j, item in enumerate(sample.target)]
        grades = grade_criteria(ctx.grader, cases, self.retries, self.max_tokens)
        met = [g[0] for g in grades]
        metrics = (example_metrics(sample.target, sample.metadata.get("example_tags", []), met)
                   if all(m is not None for m in met) else None)
        return Score(metrics["overall_score"] if metrics else None, None, "",
                     {"criteria": [str(item) for item in sample.target], "criteria_met": met,
                      "raw": [g[1] for g in grades], "metrics": metrics})


def healthbench_metrics(rows: list[dict], n_boot: int = 1000, seed: int = 0) -> dict[str, tuple[Interval, int]]:
    """Clipped mean [95% bootstrap] and example count per metric (overall, themes, axes) over stored results."""
    per = defaultdict(list)
    for r in rows:
        for name, v in ((r.get("score") or {}).get("healthbench", {}).get("metadata", {}).get("metrics") or {}).items():
            if v is not None:
                per[name].append(v)
    return {name: (clipped_mean(v, n_boot, seed), len(v)) for name, v in sorted(per.items())}


def parse_rate(rows: list[dict]) -> tuple[int, int]:
    """(criteria whose grade parsed, criteria) over stored results."""
    met = [m for r in rows for m in (r.get("score") or {}).get("healthbench", {}).get("metadata", {})
           .get("criteria_met", [])]
    return sum(m is not None for m in met), len(met)
