"""`clinqa run plan.yaml --dry-run`: for every cell the questions it plans, the generations it will make, an
estimate of its tokens, and what its run directory already holds.

Prompts are the real ones: each multiple-choice strategy builds its prompts for the first few questions of its run
against a stand-in model that answers every request with a reasoning as long as its token budget (so an ER stage-2
prompt holds 11 full-length stage-1 reasonings). Tokens are characters / 4 (no tokenizer is loaded); completion tokens
are the budget, an upper bound. Long-form answers count one generation per question; grading one per rating (retries
after malformed output not counted), with answers assumed at their full budget until they exist."""

from __future__ import annotations

from dataclasses import dataclass

from clinqa.plan import cells as api
from clinqa.plan.expand import Cell
from clinqa.plan.state import CellProgress

CHARS_PER_TOKEN = 4


@dataclass
class CellEstimate:
    cell: Cell
    items: int | None             # questions / answers / ratings the cell plans
    generations: int
    prompt_tokens: int
    completion_tokens: int        # upper bound: the token budget of every generation
    state: str                    # done | partial | to do | error: ...
    done: int = 0


def _tokens(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN


def _mc(cell: Cell, sample: int) -> tuple[int, int, int, int]:
    n, per_q = api.mc_requests(cell.params, sample)
    gens = prompt = completion = 0
    for reqs in per_q:
        for r in reqs:
            if isinstance(r, tuple):          # a log-likelihood scoring: prompt only
                prompt += _tokens(r[1])
                continue
            gens += r.n
            prompt += _tokens(r.prompt)
            completion += r.n * r.max_tokens
    k = max(len(per_q), 1)
    return n, round(n * gens / k), round(n * prompt / k), round(n * completion / k)


def estimate(cells: list[Cell], progress: dict[str, CellProgress], sample: int = 3) -> list[CellEstimate]:
    """One estimate per cell; `progress` is what each run directory holds (from `state.progress`)."""
    out, answer_chars, items_of = [], {}, {}
    for c in cells:
        p = progress.get(c.id)
        try:
            if c.kind == "mc":
                n, gens, prompt, completion = _mc(c, sample)
            elif c.kind == "answers":
                n, prompts, max_tokens = api.answers_prompts(c.params, sample)
                gens, completion = n, n * max_tokens
                prompt = round(n * sum(map(_tokens, prompts)) / max(len(prompts), 1))
                answer_chars[c.labels["set"]] = max_tokens * CHARS_PER_TOKEN
            elif c.kind == "import":
                n, gens, prompt, completion = api.import_count(c.params), 0, 0, 0
            elif c.kind == "grade":
                n, gens, prompt, completion = 0, 0, 0, 0
                sources = c.params.get("sources")
                per_source = {d: items_of.get(d) or 0 for d in c.deps}
                for kind in c.params["kinds"]:
                    if kind == "pairwise":
                        counts = [v for d, v in per_source.items() if d.rsplit("/", 1)[-1] in sources]
                        ratings = min(counts) if len(counts) == 2 else 0
                    else:
                        ratings = sum(v for d, v in per_source.items() if not sources or d.rsplit("/", 1)[-1] in sources)
                    text, max_tokens = api.grade_prompt(kind, answer_chars.get(c.labels["set"], 1536),
                                                        c.params.get("rubric"))
                    judges = len(c.params["models"])
                    n += ratings * judges
                    gens += ratings * judges
                    prompt += ratings * judges * _tokens(text)
                    completion += ratings * judges * max_tokens
            else:
                n, gens, prompt, completion = 1, 0, 0, 0
            items_of[c.id] = n
        except Exception as e:      # noqa: BLE001 - missing data: say so in the row, estimate the rest
            out.append(CellEstimate(c, None, 0, 0, 0, f"error: {type(e).__name__}: {e}"[:200]))
            continue
        done = p.done if p else 0
        state = "done" if p and p.finished else ("partial" if done else "to do")
        out.append(CellEstimate(c, n, gens, prompt, completion, state, done))
    return out


def human(n: int | None) -> str:
    if n is None:
        return "?"
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def remaining(e: CellEstimate) -> float:
    """Share of the cell still to run (for the totals of what a run would cost now)."""
    if e.state == "done":
        return 0.0
    return 1.0 - (e.done / e.items if e.items else 0.0)


def dry_run_rows(estimates: list[CellEstimate]) -> list[list[str]]:
    rows = []
    for e in estimates:
        done = f"{e.done}/{human(e.items)}" if e.state == "partial" else e.state
        rows.append([e.cell.id, "?" if e.items is None else f"{e.items:,}", f"{e.generations:,}",
                     human(e.prompt_tokens), human(e.completion_tokens), done])
    return rows
