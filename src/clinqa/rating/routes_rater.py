"""Login, logout and the rater's pages: home (with the qualification's state and feedback), one item, draft (autosaved
by htmx on every change) and submit. Async routes only read the form; everything touching the database runs in the
threadpool (writes through `Ctx.write`). Sessions slide while the rater is active; a rater whose session expired
mid-item keeps what the autosave or the submit sent (saved as the item's draft, when the expired session's cookie -
kept for auth.HOLD - and CSRF token match) and comes back to the same item after logging in. A write refused
because the database is busy answers 503 with Retry-After: the autosave retries (static/rating.js), and a submit
shows the item again with the choices kept and submits again by itself."""

from __future__ import annotations

import re
import secrets

from fastapi import FastAPI, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import escape
from sqlalchemy.exc import OperationalError

from clinqa.rating import actions, auth
from clinqa.rating.quality import hidden_studies
from clinqa.rating.web import LOGIN_CSRF_COOKIE, RETRY_AFTER, SESSION_COOKIE, Ctx, Redirect, check_csrf, read_form

ID = Path(..., ge=1, le=2**31 - 1)          # ids beyond the database's integer range are a 422, not a 500
NEXT_OK = re.compile(r"^/(rate/\d{1,10})?$")


def safe_next(url: str | None) -> str:
    """Only our own item pages: never an open redirect."""
    return url if url and NEXT_OK.match(url) else ""


def register(app: FastAPI, ctx: Ctx) -> None:
    engine = ctx.engine

    def login_page_for(request: Request, status: int, error: str, next_url: str, token: str | None = None):
        token = token or request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
        resp = ctx.page(request, "login.html", status, error=error, csrf=token, next=next_url)
        resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=ctx.secure_cookies)
        return resp

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = ""):
        return login_page_for(request, 200, "", safe_next(next))

    def do_login(request: Request, form: dict[str, str]):
        next_url = safe_next(form.get("next"))
        if not auth.csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE), form.get("csrf")):
            raise HTTPException(403, "invalid or missing CSRF token; reload the login page")
        try:
            user = auth.authenticate(engine, form.get("username", ""), form.get("password", ""), ctx.client(request))
            token = user and auth.open_session(engine, user, ctx.session_hours,
                                               revoke_others=form.get("revoke_others") == "on")
        except auth.Throttled as e:
            resp = login_page_for(request, 429, f"{e}.", next_url)
            resp.headers["Retry-After"] = str(e.retry_after)
            return resp
        except OperationalError:
            resp = login_page_for(request, 503, "The database is busy; try again in a moment.", next_url)
            resp.headers["Retry-After"] = RETRY_AFTER
            return resp
        if user is None:
            return login_page_for(request, 401, "Wrong user name or password.", next_url)
        to = "/admin" if user.is_admin else (next_url or "/")
        resp = RedirectResponse(to, status_code=303)
        # the cookie outlives the session by auth.HOLD, so that what is sent after expiry can still be kept
        resp.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=ctx.secure_cookies,
                        max_age=int((ctx.session_life + auth.HOLD).total_seconds()))
        return resp

    @app.post("/login")
    async def login(request: Request):
        return await ctx.write(do_login, request, await read_form(request))

    def do_logout(request: Request, form: dict[str, str]):
        s = ctx.session(request)
        check_csrf(s, form)
        if form.get("everywhere") == "on":
            auth.revoke_sessions(engine, s.user.id)
        auth.close_session(engine, request.cookies.get(SESSION_COOKIE))
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(SESSION_COOKIE)
        return resp

    @app.post("/logout")
    async def logout(request: Request):
        return await ctx.write(do_logout, request, await read_form(request))

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request):
        s = ctx.session(request)
        if s.user.is_admin:
            raise Redirect("/admin")
        mine = actions.my_assignments(engine, s.user.id)
        done = sum(a["status"] == "submitted" for a in mine)
        held = hidden_studies(engine, s.user.id)
        return ctx.page(request, "home.html", s=s, assignments=mine, done=done, qualifications=held,
                        next_id=next((a["id"] for a in mine if a["status"] != "submitted"), None))

    @app.get("/rate/{aid}", response_class=HTMLResponse)
    def rate_page(request: Request, aid: int = ID):
        s = ctx.session(request, next_url=f"/rate/{aid}")
        try:
            view = actions.open_assignment(engine, aid, s.user.id)
        except actions.NotFound:
            raise HTTPException(404, "no such assignment")
        return ctx.page(request, "rate.html", s=s, v=view, error="")

    def rater_session(request: Request, aid: int, form: dict[str, str]) -> auth.Session:
        """The live session; for an expired one whose CSRF token matches, keep the typed ratings as the item's draft
        and send the rater to log in and come back here."""
        s = auth.lookup_session(engine, request.cookies.get(SESSION_COOKIE), allow_expired=True,
                                extend=ctx.session_life)
        if s is not None and s.expired:
            if auth.csrf_ok(s.csrf, form.get("csrf")):
                try:
                    actions.save_draft(engine, aid, s.user.id, {k: v for k, v in form.items() if k != "csrf"})
                except (actions.NotFound, actions.AlreadySubmitted, ValueError):
                    pass
            s = None
        if s is None:
            raise Redirect(f"/login?next=/rate/{aid}")
        check_csrf(s, form)
        return s

    def do_draft(request: Request, aid: int, form: dict[str, str]):
        s = rater_session(request, aid, form)
        try:
            values = actions.save_draft(engine, aid, s.user.id, form)
        except actions.NotFound:
            raise HTTPException(404, "no such assignment")
        except actions.AlreadySubmitted as e:
            return HTMLResponse(f'<span class="warn" role="alert">{escape(str(e))}</span>', status_code=409)
        except ValueError as e:
            return HTMLResponse(f'<span class="warn" role="alert">{escape(str(e))}</span>', status_code=422)
        return HTMLResponse(f'<span class="ok">Draft saved ({len(values)} axes answered).</span>')

    @app.post("/rate/{aid}/draft", response_class=HTMLResponse)
    async def draft(request: Request, aid: int = ID):
        return await ctx.write(do_draft, request, aid, await read_form(request))

    def do_submit(request: Request, aid: int, form: dict[str, str]):
        s = rater_session(request, aid, form)
        try:
            actions.submit(engine, aid, s.user.id, form)
        except OperationalError:                  # busy: show the item with the choices kept; the page resubmits
            view = actions.open_assignment(engine, aid, s.user.id)
            view.values = {k: v for k, v in form.items() if k in {a.key for a in view.axes}}
            resp = ctx.page(request, "rate.html", 503, s=s, v=view, retry=RETRY_AFTER,
                            error="The database was busy, so this was not submitted yet; submitting again shortly.")
            resp.headers["Retry-After"] = RETRY_AFTER
            return resp
        except actions.NotFound:
            raise HTTPException(404, "no such assignment")
        except actions.AlreadySubmitted as e:
            view = actions.open_assignment(engine, aid, s.user.id)
            return ctx.page(request, "rate.html", 409, s=s, v=view, error=f"{e}: your first submission stands.")
        except (actions.Incomplete, ValueError) as e:
            view = actions.open_assignment(engine, aid, s.user.id)
            view.values = {k: v for k, v in form.items() if k in {a.key for a in view.axes}}
            return ctx.page(request, "rate.html", 422, s=s, v=view, error=str(e))
        nxt = actions.next_open(engine, s.user.id)
        raise Redirect(f"/rate/{nxt}" if nxt else "/")

    @app.post("/rate/{aid}", response_class=HTMLResponse)
    async def submit(request: Request, aid: int = ID):
        return await ctx.write(do_submit, request, aid, await read_form(request))
