"""HealthBench's meta-eval: the grader against physicians on rubric criteria, as simple-evals computes it.

Each row (the meta-eval JSONL: prompt, completion, rubric = one criterion, binary_labels and
anonymized_physician_ids = the physicians' met / not-met labels, category, prompt_id, completion_id) is graded once.
Agreement is counted on pooled pairs: the grader's label with each physician label of the row. Balanced F1 is the
mean of the F1 of "met" and of "not met" over those pairs (simple-evals' `pairwise_model_f1_balanced`). The
physicians' ceiling: each physician's labels paired with the other physicians' labels of the same rows
(leave-one-out), balanced F1 per physician, then the mean over physicians (HealthBench reports physicians this way).
Intervals: 95% percentile bootstrap resampling completions (all rows of one completion move together).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from clinqa.data.errors import DataError
from clinqa.data.loaders.healthbench import read_jsonl
from clinqa.eval.healthbench import conversation, grade_criteria
from clinqa.stats import Interval, bootstrap_replicates, percentile_interval

URL = "https://openaipublic.blob.core.windows.net/simple-evals/healthbench/2025-05-07-06-14-12_oss_meta_eval.jsonl"


@dataclass
class MetaRow:
    prompt: list[dict]
    completion: str
    rubric: str
    labels: list[bool]
    physicians: list[str]
    category: str
    completion_id: str


def load_meta(path) -> list[MetaRow]:
    out = []
    for i, row in read_jsonl(path):
        for k in ("prompt", "completion", "rubric", "binary_labels", "anonymized_physician_ids"):
            if k not in row:
                raise DataError(path, "missing field", line=i, field=k)
        labels, ids = row["binary_labels"], row["anonymized_physician_ids"]
        if not all(isinstance(x, bool) for x in labels) or len(labels) != len(ids):
            raise DataError(path, "binary_labels must be booleans, one per anonymized_physician_ids entry",
                            line=i, field="binary_labels")
        out.append(MetaRow(row["prompt"], str(row["completion"]), str(row["rubric"]), list(labels), list(ids),
                           str(row.get("category", "")), str(row.get("completion_id", i))))
    return out


def balanced_f1(pairs) -> float:
    """pairs: (rater label, reference label). Mean of F1(met) and F1(not met); nan if undefined."""
    p = np.asarray(pairs, bool).reshape(-1, 2)
    f1s = []
    for cls in (True, False):
        tp = np.sum((p[:, 0] == cls) & (p[:, 1] == cls))
        denom = np.sum(p[:, 0] == cls) + np.sum(p[:, 1] == cls)
        if denom:
            f1s.append(2 * tp / denom)
    return float(np.mean(f1s)) if len(f1s) == 2 else float("nan")


def _pairs(rows: list[MetaRow], grader: list[bool | None]):
    """Per completion: grader pairs, and per physician their leave-one-out pairs."""
    model, phys = defaultdict(list), defaultdict(lambda: defaultdict(list))
    for r, g in zip(rows, grader):
        if g is not None:
            model[r.completion_id] += [(g, x) for x in r.labels]
        for i, (pid, x) in enumerate(zip(r.physicians, r.labels)):
            phys[r.completion_id][pid] += [(x, y) for j, y in enumerate(r.labels) if j != i]
    return model, phys


def _stats(model, phys, keys) -> tuple[float, float]:
    mp = [p for k in keys for p in model.get(k, [])]
    per_doc = defaultdict(list)
    for k in keys:
        for pid, ps in phys.get(k, {}).items():
            per_doc[pid] += ps
    docs = [balanced_f1(ps) for ps in per_doc.values() if ps]
    docs = [d for d in docs if d == d]
    return balanced_f1(mp) if mp else float("nan"), float(np.mean(docs)) if docs else float("nan")


@dataclass
class MetaResult:
    model_f1: Interval
    physician_f1: Interval
    n_rows: int
    parsed: int
    by_category: dict[str, tuple[float, float, int]]     # category -> (model F1, physician F1, rows)


def meta_eval(rows: list[MetaRow], grader_labels: list[bool | None], n_boot: int = 1000, seed: int = 0) -> MetaResult:
    model, phys = _pairs(rows, grader_labels)
    keys = sorted({r.completion_id for r in rows})
    m, p = _stats(model, phys, keys)
    boots = bootstrap_replicates(lambda draws: [_stats(model, phys, [keys[i] for i in row]) for row in draws],
                                 np.arange(len(keys)), n_boot=n_boot, seed=seed)

    def iv(est, col):
        return percentile_interval(est, boots[:, col])
    cats = {}
    for c in sorted({r.category for r in rows}):
        sub = [(r, g) for r, g in zip(rows, grader_labels) if r.category == c]
        mc, pc = _pairs([s[0] for s in sub], [s[1] for s in sub])
        cats[c] = (*_stats(mc, pc, sorted({s[0].completion_id for s in sub})), len(sub))
    return MetaResult(iv(m, 0), iv(p, 1), len(rows), sum(g is not None for g in grader_labels), cats)


def grade_meta(rows: list[MetaRow], grader, retries: int = 2, seed: int = 0, progress=None,
               batch: int = 16) -> list[bool | None]:
    """The grader's label for every row, graded `batch` rows per backend call (row i draws with seed + i)."""
    out: list[bool | None] = []
    for start in range(0, len(rows), batch):
        chunk = rows[start:start + batch]
        cases = [(conversation(r.prompt, r.completion), r.rubric, seed + start + k) for k, r in enumerate(chunk)]
        out += [g[0] for g in grade_criteria(grader, cases, retries)]
        if progress:
            progress(len(out), len(rows))
    return out
