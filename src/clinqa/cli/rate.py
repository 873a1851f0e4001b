"""`clinqa rate ...`: run the rating app (`serve`), manage users (add, disable, delete) and studies from the shell
(with gold and qualification items), watch rater quality (`dashboard`), export ratings and adjudications, plan a
study (`plan`, from `clinqa.analysis.power`) and analyse it (`analyze`, `simulate`, from `clinqa.cli.rate_analyze`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from clinqa.cli.common import console
from clinqa.cli.rate_analyze import analyze, simulate
from clinqa.cli.rate_plan import plan
from clinqa.extras import require
from clinqa.rating.db import DEFAULT_URL

rate_app = typer.Typer(help="Rating studies: the web app, users, studies, export and analysis.", no_args_is_help=True)
rate_app.command()(analyze)
rate_app.command()(simulate)
rate_app.command()(plan)
DB_HELP = "database URL: sqlite:///file.sqlite (default) or postgresql+psycopg://user:password@host/db"


@rate_app.command()
def serve(db: str = typer.Option(DEFAULT_URL, help=DB_HELP), host: str = typer.Option("127.0.0.1"),
          port: int = typer.Option(8000), demo: bool = typer.Option(True, help="on an empty database: create a demo "
                                                                         "study from the shipped demo answers and print logins"),
          answers: Optional[Path] = typer.Option(None, help="demo study over this `clinqa answer` run directory "
                                                 "(default: the shipped demo answers)"),
          session_hours: float = typer.Option(12.0, help="a session ends after this long without activity"),
          secure_cookies: bool = typer.Option(False, help="behind HTTPS"),
          trusted_proxies: Optional[str] = typer.Option(
              None, envvar="CLINQA_TRUSTED_PROXIES", help="comma list of proxy addresses or networks whose "
              "X-Forwarded-For is believed (default: none; the peer's address is the client's)"),
          request_timeout: float = typer.Option(15.0, help="seconds for a request's headers and body to arrive")):
    """Start the rating app."""
    from sqlalchemy.engine import make_url

    require("rating", "clinqa rate serve")      # every missing module of the extra named at once

    from clinqa.rating.app import create_app
    from clinqa.rating.demo import ensure_demo
    from clinqa.rating.server import run_server
    try:
        app = create_app(db, session_hours, secure_cookies, trusted_proxies=trusted_proxies or "")
    except ValueError as e:
        console.print(f"[red]error:[/] {e}")
        raise typer.Exit(2)
    if demo:
        from clinqa.eval.store import Store
        logins = ensure_demo(app.state.engine, Store.open_existing(answers).answers() if answers else None)
        for user, password in logins.items():
            console.print(f"demo login: [bold]{user}[/] / {password}")
    shown = make_url(db).render_as_string(hide_password=True)       # never print the database password
    console.print(f"rating app on http://{host}:{port}  (database {shown})", markup=False, highlight=False)
    run_server(app, host, port, request_timeout)


@rate_app.command("add-user")
def add_user(username: str, password: str = typer.Option(..., prompt=True, hide_input=True),
             pool: str = typer.Option("physician", help="physician or lay"), admin: bool = typer.Option(False),
             db: str = typer.Option(DEFAULT_URL, help=DB_HELP)):
    """Create a rater or an admin."""
    from clinqa.rating.auth import create_user
    from clinqa.rating.db import make_engine
    try:
        create_user(make_engine(db), username, password, pool, admin)
    except ValueError as e:
        console.print(f"[red]error:[/] {e}")
        raise typer.Exit(2)
    console.print(f"created {'admin' if admin else pool + ' rater'} {username}")


@rate_app.command("create-study")
def create_study_cmd(name: str, answers: Path = typer.Option(..., help="run directory of `clinqa answer`"),
                     sources: str = typer.Option(..., help="comma list; pairwise compares the first two"),
                     physician: int = typer.Option(3, help="physician raters per answer (0: none)"),
                     lay: int = typer.Option(0, help="lay raters per answer"),
                     pairwise: int = typer.Option(0, help="physician raters per pair"),
                     overlap: int = typer.Option(0, help="items per kind rated by every rater of the pool"),
                     gold: Optional[Path] = typer.Option(None, help="JSONL of gold / qualification items (qid, "
                                                         "question, text, kind, phase, expected, feedback)"),
                     gold_rate: float = typer.Option(0.0, help="gold items per real item in each rater's queue"),
                     qualification_threshold: float = typer.Option(0.8, help="share of expected answers to pass"),
                     design: Optional[Path] = typer.Option(None, help="design.jsonl from `clinqa judge select`: only "
                                                           "the answers it selected go to human raters"),
                     seed: int = typer.Option(0), db: str = typer.Option(DEFAULT_URL, help=DB_HELP)):
    """Create a study from stored answers and assign it (with --design, only the answers chosen for physicians; the
    same file then gives `rate analyze --design` the selection probabilities for unbiased PPI estimates)."""
    from clinqa.rating.db import make_engine
    from clinqa.rating.routes_admin import read_answers, read_gold
    from clinqa.rating.study import StudyConfig, create_study, progress_by_rater
    engine = make_engine(db)
    try:
        cfg = StudyConfig(name, sources.split(","), physician, lay, pairwise, overlap, seed, gold_rate=gold_rate,
                          qualification_threshold=qualification_threshold)
        rows = read_answers(str(answers))
        if design is not None:
            from clinqa.analysis.active import read_design
            chosen = {aid for aid, (_, selected) in read_design(design).items() if selected}
            rows = [r for r in rows if r["answer_id"] in chosen]
            console.print(f"design {design.name}: {len(rows)} selected answers go to human raters")
        sid = create_study(engine, cfg, rows, gold=read_gold(str(gold or "")))
    except (ValueError, FileNotFoundError) as e:
        console.print(f"[red]error:[/] {e}")
        raise typer.Exit(2)
    for r in progress_by_rater(engine, sid):
        console.print(f"{r['rater']} ({r['pool']}): {r['assigned']} items")


@rate_app.command()
def export(study: str, out: Path = typer.Argument(..., help=".csv, .jsonl or .parquet"),
           adjudications: bool = typer.Option(False, help="export the admins' resolutions instead of the ratings"),
           db: str = typer.Option(DEFAULT_URL, help=DB_HELP)):
    """Export a study's ratings as the long table (`clinqa rate analyze` reads it)."""
    from clinqa.rating.db import make_engine
    from clinqa.rating.export import FORMATS, render_export
    from clinqa.rating.study import export_rows, study_by_name
    engine = make_engine(db)
    fmt = out.suffix.lstrip(".").lower()
    try:
        if fmt not in FORMATS:
            raise ValueError(f"out: the file must end in .{', .'.join(FORMATS)}")
        cols = None
        if adjudications:
            from clinqa.rating.adjudication import COLUMNS, adjudication_rows
            rows, cols = adjudication_rows(engine, study_by_name(engine, study).id), COLUMNS
        else:
            rows = export_rows(engine, study_by_name(engine, study).id)
    except ValueError as e:
        console.print(f"[red]error:[/] {e}")
        raise typer.Exit(2)
    out.write_bytes(render_export(rows, fmt, *([cols] if cols else []))[0])
    console.print(f"{len(rows)} {'adjudications' if adjudications else 'ratings'} -> {out}")


@rate_app.command()
def dashboard(study: str, db: str = typer.Option(DEFAULT_URL, help=DB_HELP)):
    """Per-rater quality: qualification, gold score, agreement with the consensus, time per item, flags."""
    from rich.table import Table

    from clinqa.rating.dashboard import rater_dashboard
    from clinqa.rating.db import make_engine
    from clinqa.rating.study import study_by_name
    engine = make_engine(db)
    try:
        rows = rater_dashboard(engine, study_by_name(engine, study).id)
    except ValueError as e:
        console.print(f"[red]error:[/] {e}")
        raise typer.Exit(2)
    t = Table(title=f"raters of {study}")
    for c in ("rater", "pool", "submitted", "qualification", "gold", "agreement", "median s", "straight-lining",
              "flags"):
        t.add_column(c)

    def pct(x):
        return f"{100 * x:.0f}%" if x is not None else "-"
    for r in rows:
        q = r["qualification"]
        t.add_row(r["rater"], r["pool"], f"{r['submitted']}/{r['assigned']}",
                  q.status + (f" {pct(q.score)}" if q.score is not None else ""), pct(r["gold"]),
                  pct(r["agreement"]), f"{r['median_seconds']:.0f}" if r["median_seconds"] is not None else "-",
                  pct(r["straight_lining"]), "; ".join(r["flags"]))
    console.print(t)


@rate_app.command("logout-everywhere")
def logout_everywhere(username: str, db: str = typer.Option(DEFAULT_URL, help=DB_HELP)):
    """Close every session of a user (a lost laptop, a shared password)."""
    from sqlalchemy import select

    from clinqa.rating.auth import normalize_username, revoke_sessions
    from clinqa.rating.db import make_engine, users
    engine = make_engine(db)
    with engine.connect() as c:
        uid = c.execute(select(users.c.id).where(users.c.username == normalize_username(username))).scalar()
    if uid is None:
        console.print(f"[red]error:[/] no user {username!r}")
        raise typer.Exit(2)
    console.print(f"{revoke_sessions(engine, uid)} session(s) of {username} closed")


@rate_app.command("disable-user")
def disable_user(username: str, enable: bool = typer.Option(False, help="enable a disabled user again"),
                 db: str = typer.Option(DEFAULT_URL, help=DB_HELP)):
    """Disable a user (closes their sessions, keeps their ratings), or --enable them again."""
    from clinqa.rating.accounts import set_disabled
    from clinqa.rating.db import make_engine
    try:
        closed = set_disabled(make_engine(db), username, not enable)
    except ValueError as e:
        console.print(f"[red]error:[/] {e}")
        raise typer.Exit(2)
    closed_note = f"; {closed} session(s) closed" if closed else ""
    console.print(f"{username} {'enabled' if enable else 'disabled'}{closed_note}")


@rate_app.command("delete-user")
def delete_user_cmd(username: str, db: str = typer.Option(DEFAULT_URL, help=DB_HELP)):
    """Delete a user who has submitted no rating (with their sessions and unsubmitted assignments)."""
    from clinqa.rating.accounts import delete_user
    from clinqa.rating.db import make_engine
    try:
        gone = delete_user(make_engine(db), username)
    except ValueError as e:
        console.print(f"[red]error:[/] {e}")
        raise typer.Exit(2)
    console.print(f"{username} deleted; {gone} unsubmitted assignment(s) removed")
@rate_app.command("import-pairwise")
def import_pairwise_cmd(file: Optional[Path] = typer.Argument(None, help="expert pairwise ratings in OLAPH's format "
                                                              "(default: <data root>/olaph_human_eval/...jsonl)"),
                        name: str = typer.Option("olaph-experts", help="name of the study to create"),
                        data_dir: Optional[Path] = typer.Option(None, help="data root"),
                        db: str = typer.Option(DEFAULT_URL, help=DB_HELP)):
    """Import expert pairwise ratings (raters, items, the nine axes) as a finished study; then `clinqa rate export`
    and `clinqa rate analyze` give the paper's pairwise figure from real ratings."""
    from clinqa.data.errors import DataError
    from clinqa.data.loaders.olaph import EXPERTS, RELPATH, read_pairwise_ratings
    from clinqa.data.registry import data_root
    from clinqa.rating.db import make_engine
    from clinqa.rating.import_study import import_pairwise
    try:
        pairs, problems = read_pairwise_ratings(file or data_root(data_dir) / RELPATH)
        res = import_pairwise(make_engine(db), name, pairs)
    except (DataError, ValueError) as e:
        console.print(f"[red]error:[/] {e}")
        raise typer.Exit(2)
    for p in problems:
        if p.field in EXPERTS:                 # the recorded judge is not imported here
            console.print(f"[yellow]unparsed:[/] {p}", soft_wrap=True)
    for x in res.incomplete:
        console.print(f"[yellow]incomplete (kept as a draft):[/] {x}")
    console.print(f"study {name}: {res.items} pairs, raters {', '.join(res.raters)}, {res.submitted} ratings "
                  "submitted (one per rater and pair, every axis)")
