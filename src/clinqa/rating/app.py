"""The rating web app (FastAPI + Jinja2 + htmx): raters rate their own assignments one item at a time (drafts autosave;
a session that expires mid-item keeps what was typed), admins create users and studies, watch progress and rater
quality, adjudicate and export. The routes live in `routes_rater.py` and `routes_admin.py`; this module builds the app
and the rules every response follows:

- every page but /login needs a session; every POST checks the CSRF token;
- blocking database work runs in the threadpool, never on the event loop; writes in a capped share of it, so that
  writers waiting on a database lock never hold up reads; a write waiting past the engine's lock timeout answers 503
  (with Retry-After; the pages retry), never a hung server;
- redirects carry a relative Location (the Host header is never reflected), and there are no trailing-slash redirects;
- the client address is the peer's, or X-Forwarded-For's when the peer is a configured proxy (`trusted_proxies`,
  env CLINQA_TRUSTED_PROXIES);
- bad input answers a 4xx page (escaped; a fragment for htmx requests), never a 500; bodies over `MAX_BODY` get 413
  and file uploads are refused;
- security headers (CSP with frame-ancestors, form-action and base-uri; Referrer-Policy; nosniff) on every response,
  errors included (the server's own replies to malformed HTTP get them in server.py).

The shared pieces the routes use live in web.py, so that the routes never import this module.
"""

from __future__ import annotations

import logging
import os
from importlib import resources

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import escape
from sqlalchemy.exc import DBAPIError, OperationalError

from clinqa.rating import routes_admin, routes_rater
from clinqa.rating.db import DEFAULT_URL, LOCK_TIMEOUT, make_engine
from clinqa.rating.export import render_export  # noqa: F401  (re-exported: `clinqa rate export` and older callers)
from clinqa.rating.web import MAX_BODY, SECURITY_HEADERS, BodyTooLarge, Ctx, Redirect, parse_proxies, relative

__all__ = ["create_app", "render_export", "MAX_BODY", "PROXIES_ENV"]
PROXIES_ENV = "CLINQA_TRUSTED_PROXIES"
RES = resources.files("clinqa") / "resources"
log = logging.getLogger("clinqa.rating")


class Guard:
    """ASGI middleware: security headers on every response, relative redirects, and the request body cap."""

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
                headers = [(k, relative(v) if k.lower() == b"location" else v) for k, v in msg.get("headers", [])]
                names = {k.lower() for k, _ in headers}
                msg["headers"] = headers + [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()
                                            if k.lower().encode() not in names]
            await send(msg)
        await self.app(scope, capped_receive, send_with_headers)


def create_app(db_url: str = DEFAULT_URL, session_hours: float = 12.0, secure_cookies: bool = False,
               lock_timeout: float = LOCK_TIMEOUT, trusted_proxies: str | list[str] | None = None) -> FastAPI:
    """The app. `trusted_proxies`: addresses or networks whose X-Forwarded-For is believed (a comma list; default
    the CLINQA_TRUSTED_PROXIES environment variable; none: the peer's address is the client's)."""
    proxies = parse_proxies(os.environ.get(PROXIES_ENV, "") if trusted_proxies is None else trusted_proxies)
    app = FastAPI(title="clinqa rating", docs_url=None, redoc_url=None, openapi_url=None, redirect_slashes=False)
    engine = make_engine(db_url, lock_timeout=lock_timeout)
    app.state.engine = engine
    templates = Jinja2Templates(directory=str(RES / "templates" / "rating"))
    ctx = Ctx(engine, templates, session_hours, secure_cookies, proxies)
    app.state.ctx = ctx
    app.mount("/static", StaticFiles(directory=str(RES / "static")), name="static")
    app.add_middleware(Guard)

    def error(request: Request, status: int, message: str, headers: dict | None = None) -> HTMLResponse:
        if request.headers.get("hx-request"):          # htmx swaps this into the status line (see base.html)
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

    routes_rater.register(app, ctx)
    routes_admin.register(app, ctx)
    return app
