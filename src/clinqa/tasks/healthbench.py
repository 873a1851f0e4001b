"""HealthBench (OpenAI 2025): conversations graded against physician-written rubric criteria by a grader model, as
simple-evals does (points of the criteria met over the positive points, clipped to [0, 1]), reported overall, by theme
and by axis. `healthbench` is the small sample in HealthBench's exact schema that clinqa ships (offline);
`healthbench:<path or URL>` reads a full file. `clinqa bench --task healthbench --model M --grader G` sends each
conversation to M as chat messages and grades the reply with G (kind "rubric": the eval core's `ChatSolver` and
`HealthBenchScorer`, see clinqa/eval/healthbench.py)."""

from __future__ import annotations

from clinqa.data.loaders.healthbench import SAMPLE, load_examples
from clinqa.tasks.base import Task

PREFIX = "healthbench:"


def _task(name: str, source) -> Task:
    return Task(name, "rubric", lambda split, root: load_examples(source or SAMPLE),
                {"test": 0 if source else 4},
                source="HealthBench (Arora et al. 2025), schema of openai/simple-evals" + ("" if source else
                        "; sample written for clinqa"), license="MIT (simple-evals)",
                description="health conversations graded on physician-written rubric criteria")


def resolve(name: str) -> Task | None:
    return _task(name, name[len(PREFIX):]) if name.startswith(PREFIX) else None


TASKS = [_task("healthbench", None)]
