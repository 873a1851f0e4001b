"""What a benchmark is: a `Task` declares its data (loader, splits, expected counts, where it comes from), its kind
(multiple choice, long-form, rubric-graded, or any other with its own solver and scorer), its defaults (exemplars, k, prompt variant, debias instruction), how reports group it,
and how other harnesses format it. Nothing outside a task's own file needs to know a benchmark by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from clinqa.data.errors import DataError
from clinqa.data.exemplars import read_exemplar_file
from clinqa.data.registry import data_root

Loader = Callable[[str, Path], list]            # (split, data root) -> records
Pool = Callable[[Path], list]                   # (data root) -> exemplar records


@dataclass(frozen=True)
class LMEvalFormat:
    """How lm-evaluation-harness 0.4's own task formats this benchmark (see prompts/lmeval.py)."""

    task: str                  # lm-eval's task name
    doc_to_text: str           # a formatter in prompts.lmeval.DOC_TO_TEXT
    choices_are_text: bool = False   # continuations are the option texts (" yes") rather than letters (" A")
    description: str = ""      # prepended once; "{subject}" is the record's subject with spaces


LONG_FORM_KINDS = ("longform", "nli")


@dataclass(frozen=True)
class Task:
    name: str
    kind: str                                   # "mc" (accuracy), "longform" (answers to be rated), "rubric"
                                                # (HealthBench), "nli" (judged against gold statements: K-QA)
    loader: Loader
    splits: dict[str, int]                      # split -> expected record count (0: not checked)
    default_split: str = "test"
    relpath: str = ""                           # file or folder under the data root ("" when not read from it)
    source: str = ""
    license: str = ""
    description: str = ""
    k_answer: int = 5                           # default exemplars for answer-only prompts
    k_reasoning: int = 5                        # default exemplars for chain-of-thought prompts
    answer_pool: Pool | None = None             # answer-only exemplars; None: the shipped medical exemplars
    reasoning_pool: Pool | None = None          # CoT exemplars (with explanations); None: the shipped ones
    knn_pool: Pool | None = None                # larger pool for kNN few-shot; None: kNN is not defined
    group_by: str | None = None                 # a result field to report accuracy by (MedMCQA: "subject")
    prompt_variant: str = "healthsearchqa"      # long-form prompt audience (prompts.LONGFORM_AUDIENCE)
    debias: bool = False                        # long-form: add the paper's instruction against bias by default
    lmeval: LMEvalFormat | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)
    solver: Callable | None = None              # solver(sample, ctx) -> Outcome | str; None: by kind (clinqa.eval)
    scorer: Callable | Sequence[Callable] | None = None   # scorer(sample, outcome, ctx) -> Score; None: by kind

    @property
    def long_form(self) -> bool:
        """Questions answered in prose with the paper's long-form prompt (kinds "longform" and "nli")."""
        return self.kind in LONG_FORM_KINDS

    def path(self, root: Path) -> Path:
        return root / self.relpath

    def load(self, split: str | None = None, root: str | Path | None = None) -> list:
        split = split or self.default_split
        root = data_root(root)
        where = self.path(root) if self.relpath else self.name
        if split not in self.splits:
            raise DataError(where, f"task {self.name!r} has no split {split!r}; splits: {', '.join(self.splits)}",
                            field="split")
        records = self.loader(split, root)
        if not records:
            raise DataError(where, f"task {self.name!r} split {split!r} has no records (empty or blank file)")
        return records


def shipped_exemplars(n_options: int = 4) -> list:
    """The medical CoT exemplars clinqa ships (written for it; see strategies/exemplars.py)."""
    return read_exemplar_file(None, n_options)
