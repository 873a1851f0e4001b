"""Studies: built from stored answers (`clinqa answer` / `import-answers`), with independent rating by physician and
lay pools and/or pairwise ranking of two sources; assignment that guarantees each item's replication, balances load
across raters and adds a seeded overlap subset rated by every rater of the pool (for agreement); progress; export of
all ratings as the long table `clinqa rate analyze` reads, un-blinded (sources and sides restored), with the time on
item. Gold and qualification items (see quality.py) are mixed into the queues here and left out of the export."""

from __future__ import annotations

import json
import math
import random
import unicodedata
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine

from clinqa.rating.auth import now
from clinqa.rating.db import assignments, items, ratings, studies, users
from clinqa.rating.quality import validate_gold
from clinqa.data.rubric import DEFAULT_RUBRIC, rubric_from_dict


@dataclass
class StudyConfig:
    name: str
    sources: list[str]                                 # answer sources taking part; pairwise uses the first two
    physician_replication: int = 3                     # raters per answer (0: no physician independent rating)
    lay_replication: int = 0
    pairwise_replication: int = 0                      # physician raters per pair (0: no pairwise ranking)
    overlap: int = 0                                   # items per kind rated by every rater of the pool
    seed: int = 0
    physician_raters: list[str] = field(default_factory=list)   # default: every physician
    lay_raters: list[str] = field(default_factory=list)
    gold_rate: float = 0.0                             # gold items per real item in each rater's queue
    qualification_threshold: float = 0.8               # share of expected answers needed to pass qualification

    def validate(self) -> None:
        """ValueError naming the field for a configuration that cannot make a sound study."""
        name = unicodedata.normalize("NFKC", str(self.name)).strip()
        if not name or len(name) > 120 or any(unicodedata.category(ch).startswith("C") for ch in name):
            raise ValueError("name: 1 to 120 characters, no control characters")
        self.name = name
        self.sources = [x.strip() for x in self.sources if x and x.strip()]
        if not self.sources:
            raise ValueError("sources: name at least one answer source")
        if any(len(x) > 120 for x in self.sources) or len(set(self.sources)) != len(self.sources):
            raise ValueError("sources: distinct names of at most 120 characters")
        for f in ("physician_replication", "lay_replication", "pairwise_replication", "overlap"):
            v = getattr(self, f)
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 1000:
                raise ValueError(f"{f}: a whole number from 0 (none) to 1000, not {v!r}")
        if not any((self.physician_replication, self.lay_replication, self.pairwise_replication)):
            raise ValueError("the study rates nothing: set a physician, lay or pairwise replication above 0")
        for f in ("gold_rate", "qualification_threshold"):
            v = getattr(self, f)
            if not isinstance(v, (int, float)) or not 0 <= v <= 1 or math.isnan(v):
                raise ValueError(f"{f}: a number from 0 to 1, not {v!r}")


def balanced_assignment(item_ids: list[int], raters: list[int], replication: int, overlap: set[int],
                        rng: random.Random) -> list[tuple[int, int]]:
    """(item, rater) pairs: each item gets `replication` distinct raters (all raters for overlap items), always the
    least-loaded ones (ties broken at random), so loads differ by at most one."""
    if replication > len(raters):
        raise ValueError(f"replication {replication} needs at least {replication} raters in the pool; "
                         f"there are {len(raters)}")
    load = Counter({r: 0 for r in raters})
    out = []
    for item in [i for i in item_ids if i in overlap] + [i for i in item_ids if i not in overlap]:
        if item in overlap:
            chosen = list(raters)
        else:
            order = sorted(raters, key=lambda r: (load[r], rng.random()))
            chosen = order[:replication]
        for r in chosen:
            load[r] += 1
            out.append((item, r))
    return out


def _pool(engine: Engine, pool: str, names: list[str]) -> list[int]:
    with engine.connect() as c:
        rows = c.execute(select(users.c.id, users.c.username).where(users.c.pool == pool,
                                                                    users.c.is_admin.is_(False))).all()
    by_name = {r.username: r.id for r in rows}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise ValueError(f"no {pool} rater named {', '.join(missing)}")
    return sorted(by_name[n] for n in names) if names else sorted(by_name.values())


def create_study(engine: Engine, cfg: StudyConfig, answers: list[dict], rubric: dict | None = None,
                 gold: list[dict] | None = None) -> int:
    """Make the study, its items and assignments in one transaction; returns the study id. `gold`: gold and
    qualification items (quality.validate_gold's format): qualification items go first in every rater's queue of
    their kind, gold items are mixed into each rater's real items at `cfg.gold_rate`."""
    cfg.validate()
    rng = random.Random(cfg.seed)
    rubric = rubric or json.loads(DEFAULT_RUBRIC.read_text())
    gold_rows = validate_gold(gold or [], rubric_from_dict(rubric))
    for a in answers:
        for k, n in (("qid", 200), ("answer_id", 300)):
            if len(str(a.get(k, ""))) > n:
                raise ValueError(f"answer {str(a.get(k))[:40]}...: {k} longer than {n} characters")
    chosen = [a for a in answers if a["source"] in cfg.sources]
    missing = [s for s in cfg.sources if not any(a["source"] == s for a in chosen)]
    if missing:
        raise ValueError(f"no stored answers from source(s) {', '.join(missing)}; "
                         f"available: {', '.join(sorted({a['source'] for a in answers})) or 'none'}")
    plans = []   # (kind, pool, replication, item rows)
    indep = [dict(kind="", qid=a["qid"], question=a["question"], answer_a=a["answer_id"], text_a=a["text"],
                  source_a=a["source"]) for a in sorted(chosen, key=lambda a: (a["qid"], a["source"]))]
    if cfg.physician_replication:
        plans.append(("physician", "physician", cfg.physician_replication, indep))
    if cfg.lay_replication:
        plans.append(("lay", "lay", cfg.lay_replication, indep))
    if cfg.pairwise_replication:
        if len(cfg.sources) < 2:
            raise ValueError("pairwise ranking needs two sources")
        a_src, b_src = cfg.sources[:2]
        by_q = defaultdict(dict)
        for a in chosen:
            by_q[a["qid"]][a["source"]] = a
        pairs = [dict(kind="", qid=q, question=d[a_src]["question"], answer_a=d[a_src]["answer_id"],
                      text_a=d[a_src]["text"], source_a=a_src, answer_b=d[b_src]["answer_id"], text_b=d[b_src]["text"],
                      source_b=b_src) for q, d in sorted(by_q.items()) if a_src in d and b_src in d]
        if not pairs:
            raise ValueError(f"no question was answered by both {a_src} and {b_src}")
        plans.append(("pairwise", "physician", cfg.pairwise_replication, pairs))
    if not plans:
        raise ValueError("the study rates nothing: set a physician, lay or pairwise replication above 0")
    for g in gold_rows:
        if not any(kind == g["kind"] for kind, _, _, _ in plans):
            raise ValueError(f"gold item {g['qid']}: the study has no {g['kind']} rating")
    pools = {p: _pool(engine, p, cfg.physician_raters if p == "physician" else cfg.lay_raters)
             for p in {pool for _, pool, _, _ in plans}}
    with engine.begin() as c:
        if c.execute(select(studies.c.id).where(studies.c.name == cfg.name)).first():
            raise ValueError(f"a study named {cfg.name!r} exists")
        sid = c.execute(insert(studies).values(name=cfg.name, config=asdict(cfg), rubric=rubric,
                                               created=now())).inserted_primary_key[0]
        for kind, pool, replication, rows in plans:
            ids = [c.execute(insert(items).values(**{**r, "kind": kind}, study_id=sid)).inserted_primary_key[0]
                   for r in rows]
            overlap = set(rng.sample(ids, min(cfg.overlap, len(ids))))
            if overlap:
                c.execute(items.update().where(items.c.id.in_(overlap)).values(overlap=True))
            pairs = balanced_assignment(ids, pools[pool], replication, overlap, rng)
            queues = defaultdict(list)
            for item, rater in sorted(pairs, key=lambda p: (p[1], rng.random())):   # each rater's own random order
                queues[rater].append(item)
            gold_ids = {ph: [c.execute(insert(items).values(**g, study_id=sid)).inserted_primary_key[0]
                             for g in gold_rows if g["kind"] == kind and g["gold"]["phase"] == ph]
                        for ph in ("gold", "qualification")}
            rows_out = []
            for rater, queue in queues.items():
                n_gold = min(len(gold_ids["gold"]), math.ceil(cfg.gold_rate * len(queue)))
                for g in rng.sample(gold_ids["gold"], n_gold):                    # gold mixed in at random places
                    queue.insert(rng.randrange(len(queue) + 1), g)
                quals = gold_ids["qualification"]
                for pos, item in enumerate(quals + queue, start=-len(quals)):     # qualification first
                    rows_out.append(dict(study_id=sid, item_id=item, rater_id=rater, position=pos,
                                         flip=kind == "pairwise" and rng.random() < 0.5))
            c.execute(insert(assignments), rows_out)
    return sid


def study_by_name(engine: Engine, name: str):
    with engine.connect() as c:
        row = c.execute(select(studies).where(studies.c.name == name)).first()
    if row is None:
        raise ValueError(f"no study named {name!r}")
    return row


def study_name(engine: Engine, study_id: int) -> str | None:
    with engine.connect() as c:
        return c.execute(select(studies.c.name).where(studies.c.id == study_id)).scalar_one_or_none()


def progress_by_rater(engine: Engine, study_id: int) -> list[dict]:
    with engine.connect() as c:
        rows = c.execute(select(users.c.username, users.c.pool, func.count(assignments.c.id),
                                func.count(assignments.c.submitted), func.count(assignments.c.draft_updated))
                         .join(users, users.c.id == assignments.c.rater_id)
                         .where(assignments.c.study_id == study_id).group_by(users.c.username, users.c.pool)
                         .order_by(users.c.username)).all()
    return [dict(rater=r[0], pool=r[1], assigned=r[2], submitted=r[3], drafts=r[4]) for r in rows]


def progress_by_item(engine: Engine, study_id: int) -> list[dict]:
    with engine.connect() as c:
        rows = c.execute(select(items.c.id, items.c.kind, items.c.qid, items.c.overlap, func.count(assignments.c.id),
                                func.count(assignments.c.submitted), func.avg(assignments.c.seconds))
                         .join(assignments, assignments.c.item_id == items.c.id)
                         .where(items.c.study_id == study_id).group_by(items.c.id, items.c.kind, items.c.qid,
                                                                       items.c.overlap)
                         .order_by(items.c.id)).all()
        phase = {r.id: (r.gold or {}).get("phase", "") for r in c.execute(
            select(items.c.id, items.c.gold).where(items.c.study_id == study_id, items.c.gold.isnot(None)))}
    return [dict(item=r[0], kind=r[1], qid=r[2], overlap=bool(r[3]), raters=r[4], submitted=r[5],
                 mean_seconds=float(r[6]) if r[6] is not None else None, phase=phase.get(r[0], "")) for r in rows]


EXPORT_COLUMNS = ["kind", "item", "qid", "source", "other_source", "rater", "axis", "value", "study", "created",
                  "submitted", "seconds"]


def list_studies(engine: Engine) -> list[dict]:
    """Every study with its configuration and progress per rater (the admin page)."""
    with engine.connect() as c:
        rows = c.execute(select(studies.c.id, studies.c.name, studies.c.config).order_by(studies.c.id)).all()
    return [dict(id=r.id, name=r.name, config=r.config, raters=progress_by_rater(engine, r.id)) for r in rows]


def list_users(engine: Engine) -> list[dict]:
    with engine.connect() as c:
        return [dict(username=r.username, pool=r.pool, is_admin=bool(r.is_admin), disabled=bool(r.disabled))
                for r in c.execute(select(users).order_by(users.c.username))]


def export_rows(engine: Engine, study_id: int) -> list[dict]:
    """Every rating, un-blinded: kind, item (answer id, or pair id), qid, source (of the answer shown first for
    pairwise), other_source, rater, axis, value as seen, study, created, submitted, seconds (the rater's time on the
    item, measured by the server). Gold and qualification items are left out (see quality.py)."""
    with engine.connect() as c:
        name = c.execute(select(studies.c.name).where(studies.c.id == study_id)).scalar_one_or_none()
        if name is None:
            raise LookupError(f"no study with id {study_id}")
        rows = c.execute(select(ratings.c.axis, ratings.c.value, ratings.c.created, items, assignments.c.flip,
                                assignments.c.submitted, assignments.c.seconds, users.c.username)
                         .join(items, items.c.id == ratings.c.item_id)
                         .join(assignments, assignments.c.id == ratings.c.assignment_id)
                         .join(users, users.c.id == ratings.c.rater_id)
                         .where(ratings.c.study_id == study_id).order_by(ratings.c.id)).all()
    out = []
    for r in rows:
        if r.gold:
            continue
        if r.kind == "pairwise":
            first, second = (r.source_b, r.source_a) if r.flip else (r.source_a, r.source_b)
            item = f"{r.answer_a}|{r.answer_b}"
        else:
            first, second, item = r.source_a, "", r.answer_a
        out.append(dict(kind=r.kind, item=item, qid=r.qid, source=first, other_source=second, rater=r.username,
                        axis=r.axis, value=r.value, study=name, created=r.created.isoformat(),
                        submitted=r.submitted.isoformat(),
                        seconds=round(r.seconds, 1) if r.seconds is not None else None))
    return out
