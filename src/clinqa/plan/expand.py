"""A plan expanded into cells: one per (multiple-choice task, strategy, model), one per long-form answer source of
each set, one per grader (or jury) of each set, and one for the human study, each with the cells it waits for and
the run directory (relative to the plan's root) it writes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from clinqa.plan import cells as api
from clinqa.plan.schema import Plan
from clinqa.tasks import get_task

SERVER_PREFIXES = ("openai:",)


@dataclass
class Cell:
    id: str                       # e.g. mc/medqa/cot/smollm2, answers/multimedqa140/smollm2, grade/..., study/<name>
    kind: str                     # mc | answers | import | grade | study
    run_dir: str                  # relative to the plan root
    params: dict
    deps: list[str] = field(default_factory=list)
    gpus: float | None = None     # None: decided from the cluster (local engines take 1 GPU where there are GPUs)
    labels: dict = field(default_factory=dict)   # task, strategy, model, set, source, grader (for status and report)

    def to_dict(self) -> dict:
        return asdict(self)


def _gpus(plan: Plan, names: list[str]) -> float | None:
    specs = [m for m in plan.models if m.name in names]
    if any(m.gpus is not None for m in specs):
        return max(m.gpus or 0 for m in specs)
    return 0.0 if all(m.spec.startswith(SERVER_PREFIXES) for m in specs) else None


def plan_root(plan: Plan, root: str | Path | None = None) -> Path:
    return Path(root or plan.root or f"runs/plan-{plan.name}")


def expand(plan: Plan, root: Path, base: Path = Path(".")) -> tuple[list[Cell], list[str]]:
    """(cells in running order, notes on what was skipped). `root` is the run root, `base` the plan file's folder
    (imported answer files are relative to it)."""
    models = {m.name: m for m in plan.models}
    cells: list[Cell] = []
    notes: list[str] = []
    mc = plan.multiple_choice
    if mc:
        for name in mc.models or list(models):
            m = models[name]
            for task in mc.tasks:
                for s in mc.strategies:
                    if s.tasks and task not in s.tasks:
                        continue
                    params = dict(dataset=task, split=mc.split, strategy=s.name, model=m.spec, dtype=m.dtype,
                                  limit=mc.limit, protocol=mc.protocol, k_shot=s.k_shot, n_samples=s.n_samples,
                                  n_refine=s.n_refine, temperature=s.temperature if s.temperature is not None
                                  else mc.temperature, max_tokens=s.max_tokens or mc.max_tokens, seed=mc.seed,
                                  data_dir=plan.data_dir, concurrency=m.concurrency)
                    cells.append(Cell(f"mc/{task}/{s.name}/{name}", "mc", f"mc/{api.mc_dir_name(params)}", params,
                                      gpus=_gpus(plan, [name]), labels=dict(task=task, strategy=s.name, model=name)))
    lf = plan.longform
    set_dirs: dict[str, str] = {}
    answer_cells: dict[str, list[str]] = {}
    if lf:
        for s in lf.sets:
            try:
                get_task(s.task)
            except Exception:
                notes.append(f"long-form set {s.key}: task {s.task!r} does not exist here (optional; skipped)")
                continue
            rel = set_dirs[s.key] = f"longform/{s.key}"
            ids = answer_cells[s.key] = []
            for src in s.sources or lf.sources:
                if src.model is not None:
                    m = models[src.model]
                    params = dict(dataset=s.task, model=m.spec, source=src.name, limit=s.limit,
                                  max_tokens=lf.max_tokens, temperature=lf.temperature, seed=lf.seed,
                                  data_dir=plan.data_dir, concurrency=m.concurrency)
                    cell = Cell(f"answers/{s.key}/{src.name}", "answers", rel, params, gpus=_gpus(plan, [src.model]),
                                labels=dict(set=s.key, task=s.task, source=src.name, model=src.model))
                else:
                    path = base / src.import_         # an absolute path stays as it is
                    if not path.is_file():
                        notes.append(f"long-form set {s.key}: answers file {path} for source {src.name!r} not "
                                     "found (optional; skipped)")
                        continue
                    cell = Cell(f"import/{s.key}/{src.name}", "import", rel,
                                dict(path=str(path.resolve()), source=src.name), gpus=0.0,
                                labels=dict(set=s.key, task=s.task, source=src.name))
                cells.append(cell)
                ids.append(cell.id)
        for g in plan.graders:
            for key in g.sets or list(set_dirs):
                if key not in set_dirs:
                    continue
                params = dict(models=[models[n].spec for n in g.models], kinds=list(g.kinds), sources=g.sources,
                              retries=g.retries, rubric=g.rubric, label=g.label)
                cells.append(Cell(f"grade/{key}/{g.label}", "grade", set_dirs[key], params, deps=answer_cells[key],
                                  gpus=_gpus(plan, g.models), labels=dict(set=key, grader=g.label)))
    st = plan.study
    if st and set_dirs:
        keys = [k for k in (st.sets or list(set_dirs)) if k in set_dirs]
        deps = [c.id for c in cells if c.kind in ("answers", "import", "grade") and c.labels.get("set") in keys]
        db = st.db or f"sqlite:///{(root / 'study' / 'study.sqlite').resolve()}"
        params = dict(name=st.name, db=db, sets=[str(root / set_dirs[k]) for k in keys], sources=st.sources,
                      physician=st.physician, lay=st.lay, pairwise=st.pairwise, raters=st.raters,
                      select_budget=st.select_budget, seed=st.seed)
        cells.append(Cell(f"study/{st.name}", "study", "study", params, deps=deps, gpus=0.0,
                          labels=dict(study=st.name)))
    return cells, notes
