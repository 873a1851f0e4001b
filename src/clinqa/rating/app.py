"""The rating web app (FastAPI + Jinja2 + htmx): raters rate their own assignments one item at a time (drafts autosave;
a session that expires mid-item keeps what was typed), admins create users and studies, watch progress and rater
quality, adjudicate and export. The routes live in `routes_rater.py` and `routes_admin.py`; this module builds the app
and the rules every response follows:

- every page but /login needs a session; every POST checks the CSRF token;
- blocking database work runs in the threadpool, never on the event loop; a lock wait past the engine's lock timeout
  answers 503 (with Retry-After), never a hung server;
- bad input answers a 4xx page (escaped; a fragment for htmx requests), never a 500; bodies over `MAX_BODY` get 413
  and file uploads are refused;
- security headers (CSP with frame-ancestors, form-action and base-uri; Referrer-Policy; nosniff) on every response,
  errors included.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from clinqa.rating import auth
from clinqa.rating.db import DEFAULT_URL, LOCK_TIMEOUT, make_engine
from clinqa.rating.export import render_export  # noqa: F401  (re-exported: `clinqa rate export` and older callers)

__all__ = ["create_app", "render_export", "Ctx", "Redirect", "check_csrf", "read_form", "MAX_BODY"]
SESSION_COOKIE, LOGIN_CSRF_COOKIE = "clinqa_session", "clinqa_login_csrf"
RES = resources.files("clinqa") / "resources"
MAX_BODY = 256 * 1024          # bytes; the largest form (a study's settings) is a few hundred
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                               "form-action 'self'; base-uri 'none'; object-src 'none'",
    "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store"}
log = logging.getLogger("clinqa.rating")


class Redirect(Exception):
    def __init__(self, to: str):
        self.to = to


class BodyTooLarge(Exception):
    pass


@dataclass
class Ctx:
    """What the routes share: the engine, templates and settings."""
    engine: Engine
    templates: Jinja2Templates
    session_hours: float
    secure_cookies: bool

    def page(self, request: Request, template: str, status: int = 200, **ctx) -> HTMLResponse:
        return self.templates.TemplateResponse(request, template, ctx, status_code=status)

    def session(self, request: Request, next_url: str = "") -> auth.Session:
        s = auth.lookup_session(self.engine, request.cookies.get(SESSION_COOKIE))
        if s is None:
            raise Redirect("/login" + (f"?next={next_url}" if next_url else ""))
        return s

    def admin(self, request: Request) -> auth.Session:
        s = self.session(request)
        if not s.user.is_admin:
            raise HTTPException(403, "admins only")
        return s


def check_csrf(s: auth.Session, form: dict[str, str]) -> dict[str, str]:
    if not auth.csrf_ok(s.csrf, form.pop("csrf", None)):
        raise HTTPException(403, "invalid or missing CSRF token; reload the page")
    return form


async def read_form(request: Request) -> dict[str, str]:
    """The posted form as strings; files are refused (400), bodies are capped by the middleware (413)."""
    try:
        form = await request.form(max_files=0, max_fields=200)
    except HTTPException:
        raise
    except BodyTooLarge:
        raise
    except Exception as e:                        # malformed multipart and the like
        raise HTTPException(400, f"unreadable form: {e}") from None
    if any(not isinstance(v, str) for v in form.values()):
        raise HTTPException(400, "file uploads are not accepted here")
    return {k: v for k, v in form.items()}


class Guard:
    """ASGI middleware: security headers on every response and the request body cap."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers", [])).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > MAX_BODY:
            resp = HTMLResponse(f"request body over {MAX_BODY} bytes" if length.isdigit() else "bad Content-Length",
                                status_code=413 if length.isdigit() else 400, headers=SECURITY_HEADERS)
            return await resp(scope, receive, send)
        seen = 0

        async def capped_receive():
            nonlocal seen
            msg = await receive()
            seen += len(msg.get("body", b""))
            if seen > MAX_BODY:
                raise BodyTooLarge()
            return msg

        async def send_with_headers(msg):
            if msg["type"] == "http.response.start":
                names = {k.lower() for k, _ in msg.get("headers", [])}
                msg["headers"] = list(msg.get("headers", [])) + [
                    (k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()
                    if k.lower().encode() not in names]
            await send(msg)
        await self.app(scope, capped_receive, send_with_headers)


def create_app(db_url: str = DEFAULT_URL, session_hours: float = 12.0, secure_cookies: bool = False,
               lock_timeout: float = LOCK_TIMEOUT) -> FastAPI:
    app = FastAPI(title="clinqa rating", docs_url=None, redoc_url=None, openapi_url=None)
    engine = make_engine(db_url, lock_timeout=lock_timeout)
    app.state.engine = engine
    templates = Jinja2Templates(directory=str(RES / "templates" / "rating"))
    ctx = Ctx(engine, templates, session_hours, secure_cookies)
    app.mount("/static", StaticFiles(directory=str(RES / "static")), name="static")
    app.add_middleware(Guard)

    def error(request: Request, status: int, message: str, headers: dict | None = None) -> HTMLResponse:
        if request.headers.get("hx-request"):          # htmx swaps this into the status line (see base.html)
            from markupsafe import escape
            return HTMLResponse(f'<span class="warn" role="alert">{escape(message)}</span>', status, headers=headers)
        # no session lookup here: an error page must not touch the database (it may be the thing that failed)
        resp = ctx.page(request, "error.html", status, s=None, code=status, message=message)
        resp.headers.update(headers or {})
        return resp

    @app.exception_handler(Redirect)
    async def _redirect(request: Request, exc: Redirect):
        if request.headers.get("hx-request"):         # htmx: make the browser go there, not swap the login page in
            return HTMLResponse("", 200, headers={"HX-Redirect": exc.to})
        return RedirectResponse(exc.to, status_code=303)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        return error(request, exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(404)
    async def _not_found(request: Request, exc):
        return error(request, 404, getattr(exc, "detail", None) or "no such page")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        msgs = [f"{'.'.join(str(x) for x in e.get('loc', ())[1:]) or 'request'}: {e.get('msg', 'invalid')}"
                for e in exc.errors()]
        return error(request, 422, "; ".join(msgs))     # the message only: the input is never echoed

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, exc):
        return error(request, 413, f"request body over {MAX_BODY} bytes")

    @app.exception_handler(OperationalError)
    async def _busy(request: Request, exc):
        log.warning("database busy or unavailable: %s", exc)
        return error(request, 503, "the database is busy; nothing was lost, try again in a moment",
                     {"Retry-After": "2"})

    @app.exception_handler(DBAPIError)
    async def _db_refused(request: Request, exc):
        # the database refused a value (out of range, too long, a null byte): the request was bad
        log.warning("database refused a value: %s", exc)
        return error(request, 400, "a value in this request is not acceptable (too long or malformed)")

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc):
        log.exception("unhandled error on %s", request.url.path)
        return HTMLResponse("internal error", 500, headers=SECURITY_HEADERS)

    from clinqa.rating import routes_admin, routes_rater
    routes_rater.register(app, ctx)
    routes_admin.register(app, ctx)
    return app
