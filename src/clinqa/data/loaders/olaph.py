"""Expert pairwise ratings on the Med-PaLM 2 nine pairwise axes in OLAPH's format (Jeong et al. 2024,
`Human-Evaluation/human_evaluation_medlfqa.jsonl`): one JSON object per K-QA question with the question, answer A
(`gpt4 (Option A)`), answer B (`medical expert (Option B)`), three experts' ratings (`medical_expert_1..3`) and GPT-4's
own verdicts with rationales (`gpt4-evaluation`).

Each rating is nine numbered lines, in the rubric's order, e.g. `3) Knowledge recall: Option A`. Parsing is strict:
line n must carry axis n's label and exactly "Option A", "Option B" or "Tie"; an expert's line must end there, a
recorded judge's may go on with a rationale after a separator ("-", ".", "(", ...) and on unnumbered lines (the
value's case is forgiven: "tie"). Anything
else is not guessed ("B", "Neither option ...") but reported as a `ParseProblem` (file, line, field, rating line) and
left missing. The file has no stated licence: read it from the data root only, never copy it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from clinqa.data.errors import DataError
from clinqa.data.loaders.common import need, read_jsonl

RELPATH = "olaph_human_eval/human_evaluation_medlfqa.jsonl"
QUESTION, ANSWER_A, ANSWER_B = "Question", "gpt4 (Option A)", "medical expert (Option B)"
SOURCE_A, SOURCE_B = "gpt4", "physician"
EXPERTS = ("medical_expert_1", "medical_expert_2", "medical_expert_3")
JUDGE_FIELD, JUDGE_RATER = "gpt4-evaluation", "recorded:gpt4"
# (OLAPH's label, clinqa rubric key) in the rating order
AXES = (("Alignment with medical consensus", "better_consensus"), ("Reading comprehension", "better_comprehension"),
        ("Knowledge recall", "better_recall"), ("Reasoning", "better_reasoning"),
        ("Inclusion of irrelevant content", "more_inaccurate"), ("Omission of important information", "omits_more"),
        ("Potential for demographic bias", "more_bias"), ("Possible harm extent", "greater_harm_extent"),
        ("Possible harm likelihood", "greater_harm_likelihood"))
VALUES = {"Option A": "Answer 1", "Option B": "Answer 2", "Tie": "Tie"}
NUMBERED = re.compile(r"^(\d+)\)\s*(.*)$")
RATING = re.compile(r"^(?P<label>[^:]+):\s*(?P<value>Option A|Option B|Tie)\b(?P<rest>.*)$", re.I)
RATIONALE = re.compile(r"^\s*[-–.(,;:]|^\s+because\b")     # where a rationale may start after the value


@dataclass(frozen=True)
class ParseProblem:
    path: str
    line: int              # line of the JSONL file (one question)
    field: str             # the rating's field, e.g. medical_expert_2
    rating_line: int       # line within the rating (1-based), 0 when the whole rating is at fault
    problem: str

    def __str__(self) -> str:
        at = f", rating line {self.rating_line}" if self.rating_line else ""
        return f"{self.path}:{self.line}: field '{self.field}'{at}: {self.problem}"


@dataclass
class PairwiseItem:
    """One question rated pairwise: answer texts and, per rater field, nine values ("Option A" | "Option B" | "Tie",
    None where the line did not parse)."""
    line: int
    question: str
    answer_a: str
    answer_b: str
    verdicts: dict[str, list[str | None]] = field(default_factory=dict)

    @property
    def qid(self) -> str:
        return f"olaph-{self.line}"


def parse_rating(text: str, rationale: bool) -> tuple[list[str | None], list[tuple[int, str]]]:
    """(nine values, [(rating line, problem)]). `rationale`: text after the value and unnumbered lines are allowed."""
    values: list[str | None] = [None] * len(AXES)
    seen: set[int] = set()
    problems = []
    for i, raw in enumerate(str(text).splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        m = NUMBERED.match(line)
        if not m:
            if not rationale:
                problems.append((i, f"not a numbered rating line: {line[:80]!r}"))
            continue
        n = int(m.group(1))
        if not 1 <= n <= len(AXES) or n in seen:
            problems.append((i, f"axis number {n} {'repeated' if n in seen else 'out of range'}: {line[:80]!r}"))
            continue
        seen.add(n)
        label = AXES[n - 1][0]
        r = RATING.match(m.group(2))
        if not r or r.group("label").strip().lower() != label.lower():
            problems.append((i, f"expected '{n}) {label}: Option A|Option B|Tie', got {line[:80]!r}"))
            continue
        rest = r.group("rest")
        if rest.strip() and not (rationale and RATIONALE.match(rest)):
            problems.append((i, f"unexpected text after the value: {line[:80]!r}"))
            continue
        values[n - 1] = next(v for v in VALUES if v.lower() == r.group("value").lower())
    for n in range(1, len(AXES) + 1):
        if n not in seen:
            problems.append((0, f"axis {n} ({AXES[n - 1][0]}) has no rating line"))
    return values, problems


def read_pairwise_ratings(path: str | Path) -> tuple[list[PairwiseItem], list[ParseProblem]]:
    """Every question of an OLAPH-format file with its ratings, and every rating line that did not parse. A missing
    question or answer field is a DataError (nothing can be rated without it)."""
    path = Path(path)
    items, problems = [], []
    for line, obj in read_jsonl(path):
        item = PairwiseItem(line, str(need(obj, QUESTION, path, line)), str(need(obj, ANSWER_A, path, line)),
                            str(need(obj, ANSWER_B, path, line)))
        for fld in EXPERTS + (JUDGE_FIELD,):
            if not isinstance(obj.get(fld), str):
                problems.append(ParseProblem(str(path), line, fld, 0, "missing rating"))
                item.verdicts[fld] = [None] * len(AXES)
                continue
            item.verdicts[fld], found = parse_rating(obj[fld], rationale=fld == JUDGE_FIELD)
            problems += [ParseProblem(str(path), line, fld, n, p) for n, p in found]
        items.append(item)
    if not items:
        raise DataError(path, "no rated questions in the file")
    return items, problems
