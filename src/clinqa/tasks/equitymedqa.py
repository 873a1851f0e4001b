"""EquityMedQA (Pfohl et al. 2024), the health-equity adversarial sets, named `equitymedqa:<subset>` (omaq, ehai,
fbrt_manual, cc_manual, trinds, multimedqa, ...): from `$CLINQA_EQUITYMEDQA/<subset>.csv` when that folder is set,
else from the hub (needs network). Answered with the instruction against bias."""

from __future__ import annotations

from clinqa.data.loaders.questions import load_equitymedqa
from clinqa.tasks.base import Task

PREFIX = "equitymedqa:"


def resolve(name: str) -> Task | None:
    if not name.startswith(PREFIX):
        return None
    subset = name[len(PREFIX):]
    return Task(name, "longform", lambda split, root: load_equitymedqa(subset), {"test": 0},
                source="EquityMedQA (Pfohl et al. 2024), katielink/EquityMedQA", license="see the dataset card",
                description=f"EquityMedQA subset {subset}", debias=True)


TASKS: list[Task] = []
