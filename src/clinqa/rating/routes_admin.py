"""The admin pages: users (create, disable or enable, delete), studies (from stored answers, optionally with gold
and qualification items), a study's progress and per-rater quality dashboard, the adjudication view, exports.
Database work runs in the threadpool (writes through `Ctx.write`); bad input (a number that is not one, a corrupt
answers folder, an unknown study) answers 4xx naming the field."""

from __future__ import annotations

import json
from pathlib import Path as FsPath
from typing import Literal

from fastapi import FastAPI, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, Response

from clinqa.rating import accounts, adjudication, auth, dashboard, study
from clinqa.rating.export import render_export
from clinqa.rating.web import Ctx, check_csrf, read_form

ID = Path(..., ge=1, le=2**31 - 1)
INT_FIELDS = ("physician_replication", "lay_replication", "pairwise_replication", "overlap", "seed")


def read_answers(folder: str) -> list[dict]:
    """Stored answers of a `clinqa answer` run directory; ValueError (never a crash) for a missing or corrupt one."""
    from clinqa.eval.store import Store
    if not folder.strip():
        raise ValueError("answers: give the run directory of `clinqa answer`")
    try:
        return Store.open_existing(folder).answers()
    except FileNotFoundError as e:
        raise ValueError(f"answers: {e}") from None
    except Exception as e:        # a corrupt or foreign store: say so, do not crash
        raise ValueError(f"answers: cannot read the answers store in {folder}: {type(e).__name__}") from None


def read_gold(path: str) -> list[dict]:
    """Gold / qualification items from a JSONL file (see quality.validate_gold); [] for no path."""
    if not path.strip():
        return []
    p = FsPath(path)
    if not p.is_file():
        raise ValueError(f"gold: no file {path}")
    rows = []
    for i, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ValueError(f"gold: {path} line {i}: malformed JSON ({e.msg})") from None
    return rows


def config_from_form(form: dict[str, str]) -> study.StudyConfig:
    nums = {}
    for f in INT_FIELDS:
        raw = form.get(f, "").strip() or "0"
        try:
            nums[f] = int(raw)
        except ValueError:
            raise ValueError(f"{f}: a whole number, not {raw[:20]!r}") from None
    fracs = {}
    for f, default in (("gold_rate", "0"), ("qualification_threshold", "0.8")):
        raw = form.get(f, "").strip() or default
        try:
            fracs[f] = float(raw)
        except ValueError:
            raise ValueError(f"{f}: a number from 0 to 1, not {raw[:20]!r}") from None
    cfg = study.StudyConfig(name=form.get("name", ""), sources=form.get("sources", "").split(","), **nums, **fracs)
    cfg.validate()
    return cfg


def register(app: FastAPI, ctx: Ctx) -> None:
    engine = ctx.engine

    def admin_page(request: Request, s: auth.Session, status: int = 200, message: str = "", error: str = ""):
        return ctx.page(request, "admin.html", status, s=s, studies=study.list_studies(engine), message=message,
                        error=error, users=study.list_users(engine))

    @app.get("/admin", response_class=HTMLResponse)
    def admin_home(request: Request):
        return admin_page(request, ctx.admin(request))

    def do_add_user(request: Request, form: dict[str, str]):
        s = ctx.admin(request)
        check_csrf(s, form)
        try:
            u = auth.create_user(engine, form.get("username", ""), form.get("password", ""),
                                 form.get("pool", "physician"), form.get("is_admin") == "on")
        except ValueError as e:
            return admin_page(request, s, 422, error=str(e))
        return admin_page(request, s, message=f"user {u.username} created")

    @app.post("/admin/users", response_class=HTMLResponse)
    async def add_user(request: Request):
        return await ctx.write(do_add_user, request, await read_form(request))

    def do_user_action(request: Request, action: str, form: dict[str, str]):
        s = ctx.admin(request)
        check_csrf(s, form)
        name = form.get("username", "")
        try:
            if action == "delete":
                gone = accounts.delete_user(engine, name, acting_id=s.user.id)
                message = f"user {name} deleted ({gone} unsubmitted assignments removed)"
            else:
                closed = accounts.set_disabled(engine, name, action == "disable", acting_id=s.user.id)
                message = f"user {name} {action}d" + (f" ({closed} sessions closed)" if closed else "")
        except ValueError as e:
            return admin_page(request, s, 422, error=str(e))
        return admin_page(request, s, message=message)

    @app.post("/admin/users/{action}", response_class=HTMLResponse)
    async def user_action(request: Request, action: Literal["disable", "enable", "delete"]):
        return await ctx.write(do_user_action, request, action, await read_form(request))

    def do_add_study(request: Request, form: dict[str, str]):
        s = ctx.admin(request)
        check_csrf(s, form)
        try:
            cfg = config_from_form(form)
            sid = study.create_study(engine, cfg, read_answers(form.get("answers", "")),
                                     gold=read_gold(form.get("gold", "")))
        except ValueError as e:
            return admin_page(request, s, 422, error=str(e))
        return admin_page(request, s, message=f"study {cfg.name} created (id {sid})")

    @app.post("/admin/studies", response_class=HTMLResponse)
    async def add_study(request: Request):
        return await ctx.write(do_add_study, request, await read_form(request))

    def known(sid: int) -> str:
        name = study.study_name(engine, sid)
        if name is None:
            raise HTTPException(404, f"no study with id {sid}")
        return name

    @app.get("/admin/studies/{sid}", response_class=HTMLResponse)
    def study_page(request: Request, sid: int = ID):
        s = ctx.admin(request)
        name = known(sid)
        return ctx.page(request, "study.html", s=s, sid=sid, name=name, items=study.progress_by_item(engine, sid),
                        board=dashboard.rater_dashboard(engine, sid))

    @app.get("/admin/studies/{sid}/adjudicate", response_class=HTMLResponse)
    def adjudicate_page(request: Request, sid: int = ID, message: str = ""):
        s = ctx.admin(request)
        name = known(sid)
        return ctx.page(request, "adjudicate.html", s=s, sid=sid, name=name, message=message,
                        rows=adjudication.disagreements(engine, sid))

    def do_adjudicate(request: Request, sid: int, form: dict[str, str]):
        s = ctx.admin(request)
        check_csrf(s, form)
        known(sid)
        raw = form.get("item", "").strip()
        if not raw.isdigit() or not 1 <= int(raw) <= 2**31 - 1:
            raise HTTPException(422, "item: an item number")
        item = int(raw)
        try:
            adjudication.adjudicate(engine, sid, item, form.get("axis", ""), form.get("value", ""),
                                    s.user.username, form.get("note", ""))
        except (ValueError, LookupError) as e:
            raise HTTPException(422, str(e)) from None
        return ctx.page(request, "adjudicate.html", s=s, sid=sid, name=study.study_name(engine, sid),
                        message=f"item {item}: {form.get('axis')} resolved as {form.get('value')}",
                        rows=adjudication.disagreements(engine, sid))

    @app.post("/admin/studies/{sid}/adjudicate", response_class=HTMLResponse)
    async def adjudicate(request: Request, sid: int = ID):
        return await ctx.write(do_adjudicate, request, sid, await read_form(request))

    @app.get("/admin/studies/{sid}/export.{fmt}")
    def export(request: Request, fmt: str, sid: int = ID):
        ctx.admin(request)
        known(sid)
        body, media_type = render_export(study.export_rows(engine, sid), fmt)
        return Response(body, media_type=media_type, headers={
            "Content-Disposition": f'attachment; filename="study-{sid}-ratings.{fmt}"'})

    @app.get("/admin/studies/{sid}/adjudications.{fmt}")
    def export_adjudications(request: Request, fmt: str, sid: int = ID):
        ctx.admin(request)
        known(sid)
        body, media_type = render_export(adjudication.adjudication_rows(engine, sid), fmt, adjudication.COLUMNS)
        return Response(body, media_type=media_type, headers={
            "Content-Disposition": f'attachment; filename="study-{sid}-adjudications.{fmt}"'})
