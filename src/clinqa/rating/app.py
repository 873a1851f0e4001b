"""The rating web app (FastAPI + Jinja2 + htmx): raters rate their own assignments one item at a time, save drafts and
come back, and submit only complete ratings; admins create users and studies, watch progress and export ratings.

Every page but /login needs a session; every POST checks the CSRF token; rater pages never show answer sources;
a rater asking for another rater's assignment gets 404, a rater on an admin page 403.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
from importlib import resources

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from clinqa.rating import actions, auth, study
from clinqa.rating.db import DEFAULT_URL, make_engine

SESSION_COOKIE, LOGIN_CSRF_COOKIE = "clinqa_session", "clinqa_login_csrf"
RES = resources.files("clinqa") / "resources"


class Redirect(Exception):
    def __init__(self, to: str):
        self.to = to


def create_app(db_url: str = DEFAULT_URL, session_hours: float = 12.0, secure_cookies: bool = False) -> FastAPI:
    app = FastAPI(title="clinqa rating", docs_url=None, redoc_url=None, openapi_url=None)
    engine = make_engine(db_url)
    app.state.engine = engine
    templates = Jinja2Templates(directory=str(RES / "templates" / "rating"))
    app.mount("/static", StaticFiles(directory=str(RES / "static")), name="static")

    @app.exception_handler(Redirect)
    async def _redirect(request: Request, exc: Redirect):
        return RedirectResponse(exc.to, status_code=303)

    @app.middleware("http")
    async def _headers(request: Request, call_next):
        resp = await call_next(request)
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Content-Security-Policy"] = "default-src 'self'; img-src 'self' data:"
        resp.headers["Cache-Control"] = "no-store"
        return resp

    def page(request: Request, name: str, status: int = 200, **ctx) -> HTMLResponse:
        return templates.TemplateResponse(request, name, ctx, status_code=status)

    def session(request: Request) -> auth.Session:
        s = auth.lookup_session(engine, request.cookies.get(SESSION_COOKIE))
        if s is None:
            raise Redirect("/login")
        return s

    def admin(request: Request) -> auth.Session:
        s = session(request)
        if not s.user.is_admin:
            raise HTTPException(403, "admins only")
        return s

    async def form_with_csrf(request: Request, s: auth.Session) -> dict[str, str]:
        form = {k: str(v) for k, v in (await request.form()).items()}
        if not auth.csrf_ok(s.csrf, form.pop("csrf", None)):
            raise HTTPException(403, "invalid or missing CSRF token; reload the page")
        return form

    # -- login ------------------------------------------------------------------------------------------------------
    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, error: str = ""):
        token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
        resp = page(request, "login.html", error=error, csrf=token)
        resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure_cookies)
        return resp

    @app.post("/login")
    async def login(request: Request):
        form = await request.form()
        if not auth.csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE), form.get("csrf")):
            raise HTTPException(403, "invalid or missing CSRF token; reload the login page")
        user = await run_in_threadpool(auth.authenticate, engine, str(form.get("username", "")),
                                       str(form.get("password", "")))
        if user is None:
            return page(request, "login.html", 401, error="Wrong user name or password.",
                        csrf=request.cookies.get(LOGIN_CSRF_COOKIE))
        token = await run_in_threadpool(auth.open_session, engine, user, session_hours)
        resp = RedirectResponse("/admin" if user.is_admin else "/", status_code=303)
        resp.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=secure_cookies,
                        max_age=int(session_hours * 3600))
        return resp

    @app.post("/logout")
    async def logout(request: Request):
        s = session(request)
        await form_with_csrf(request, s)
        auth.close_session(engine, request.cookies.get(SESSION_COOKIE))
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(SESSION_COOKIE)
        return resp

    # -- raters -----------------------------------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse)
    def home(request: Request):
        s = session(request)
        if s.user.is_admin:
            raise Redirect("/admin")
        mine = actions.my_assignments(engine, s.user.id)
        done = sum(a["status"] == "submitted" for a in mine)
        return page(request, "home.html", s=s, assignments=mine, done=done, next_id=actions.next_open(engine, s.user.id))

    @app.get("/rate/{aid}", response_class=HTMLResponse)
    def rate_page(request: Request, aid: int):
        s = session(request)
        try:
            view = actions.open_assignment(engine, aid, s.user.id)
        except actions.NotFound:
            raise HTTPException(404, "no such assignment")
        return page(request, "rate.html", s=s, v=view, error="")

    @app.post("/rate/{aid}/draft", response_class=HTMLResponse)
    async def draft(request: Request, aid: int):
        s = session(request)
        form = await form_with_csrf(request, s)
        try:
            values = await run_in_threadpool(actions.save_draft, engine, aid, s.user.id, form)
        except actions.NotFound:
            raise HTTPException(404, "no such assignment")
        except actions.AlreadySubmitted as e:
            return HTMLResponse(f'<span class="warn">{e}</span>', status_code=409)
        except ValueError as e:
            return HTMLResponse(f'<span class="warn">{e}</span>', status_code=422)
        return HTMLResponse(f'<span class="ok">Draft saved ({len(values)} axes answered).</span>')

    @app.post("/rate/{aid}", response_class=HTMLResponse)
    async def submit(request: Request, aid: int):
        s = session(request)
        form = await form_with_csrf(request, s)
        try:
            await run_in_threadpool(actions.submit, engine, aid, s.user.id, form)
        except actions.NotFound:
            raise HTTPException(404, "no such assignment")
        except actions.AlreadySubmitted as e:
            view = actions.open_assignment(engine, aid, s.user.id)
            return page(request, "rate.html", 409, s=s, v=view, error=f"{e}: your first submission stands.")
        except (actions.Incomplete, ValueError) as e:
            view = actions.open_assignment(engine, aid, s.user.id)
            view.values = {k: v for k, v in form.items() if k in {a.key for a in view.axes}}
            return page(request, "rate.html", 422, s=s, v=view, error=str(e))
        nxt = actions.next_open(engine, s.user.id)
        raise Redirect(f"/rate/{nxt}" if nxt else "/")

    # -- admins -----------------------------------------------------------------------------------------------------
    def admin_page(request: Request, s: auth.Session, status: int = 200, message: str = "", error: str = ""):
        return page(request, "admin.html", status, s=s, studies=study.list_studies(engine), message=message,
                    error=error, users=study.list_users(engine))

    @app.get("/admin", response_class=HTMLResponse)
    def admin_home(request: Request):
        return admin_page(request, admin(request))

    @app.post("/admin/users", response_class=HTMLResponse)
    async def add_user(request: Request):
        s = admin(request)
        form = await form_with_csrf(request, s)
        try:
            await run_in_threadpool(auth.create_user, engine, form.get("username", "").strip(), form.get("password", ""),
                                    form.get("pool", "physician"), form.get("is_admin") == "on")
        except ValueError as e:
            return admin_page(request, s, 422, error=str(e))
        return admin_page(request, s, message=f"user {form.get('username')} created")

    @app.post("/admin/studies", response_class=HTMLResponse)
    async def add_study(request: Request):
        s = admin(request)
        form = await form_with_csrf(request, s)
        try:
            from clinqa.store import Store
            answers = Store.open_existing(form.get("answers", "")).answers()
            cfg = study.StudyConfig(
                name=form.get("name", "").strip(), sources=[x.strip() for x in form.get("sources", "").split(",") if x.strip()],
                physician_replication=int(form.get("physician_replication") or 0),
                lay_replication=int(form.get("lay_replication") or 0),
                pairwise_replication=int(form.get("pairwise_replication") or 0),
                overlap=int(form.get("overlap") or 0), seed=int(form.get("seed") or 0))
            if not cfg.name:
                raise ValueError("a study needs a name")
            sid = await run_in_threadpool(study.create_study, engine, cfg, answers)
        except (ValueError, FileNotFoundError) as e:
            return admin_page(request, s, 422, error=str(e))
        return admin_page(request, s, message=f"study {cfg.name} created (id {sid})")

    @app.get("/admin/studies/{sid}", response_class=HTMLResponse)
    def study_page(request: Request, sid: int):
        s = admin(request)
        return page(request, "study.html", s=s, sid=sid, raters=study.progress_by_rater(engine, sid),
                    items=study.progress_by_item(engine, sid))

    @app.get("/admin/studies/{sid}/export.{fmt}")
    def export(request: Request, sid: int, fmt: str):
        admin(request)
        body, media_type = render_export(study.export_rows(engine, sid), fmt)
        return Response(body, media_type=media_type, headers={
            "Content-Disposition": f'attachment; filename="study-{sid}-ratings.{fmt}"'})

    return app


def render_export(rows: list[dict], fmt: str) -> tuple[bytes, str]:
    if fmt == "jsonl":
        return "".join(json.dumps(r) + "\n" for r in rows).encode(), "application/x-ndjson"
    if fmt == "parquet":
        import pandas as pd
        buf = io.BytesIO()
        pd.DataFrame(rows, columns=study.EXPORT_COLUMNS).to_parquet(buf, index=False)
        return buf.getvalue(), "application/vnd.apache.parquet"
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=study.EXPORT_COLUMNS)
        w.writeheader()
        w.writerows(rows)
        return buf.getvalue().encode(), "text/csv"
    raise HTTPException(404, "export formats: csv, jsonl, parquet")

