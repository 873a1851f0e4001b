"""What every route of the rating app shares, kept apart from `app.py` (which builds the app and imports the routes)
so that the routes never import the app: the `Ctx` the routes get (engine, templates, settings, the session of a
request), the CSRF check, the form reader (files, duplicated fields and over-long bodies refused), the security
headers, relative redirects, the client address (X-Forwarded-For believed only from a configured proxy, parsed as IP
addresses), and `Ctx.write`, which runs a request's database writes in the threadpool but at most `WRITE_SLOTS` at
once (with at most `WRITE_QUEUE` waiting, beyond which it answers 503 at once), so that writers waiting on a
database lock never take the threads that reads need."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import weakref
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

import anyio.to_thread
from anyio import CapacityLimiter

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine

from clinqa.rating import auth

SESSION_COOKIE, LOGIN_CSRF_COOKIE = "clinqa_session", "clinqa_login_csrf"
MAX_BODY = 256 * 1024          # bytes; the largest form (a study's settings) is a few hundred
MAX_FORWARDED = 512            # characters of X-Forwarded-For; a real chain of a few proxies is far shorter
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                               "form-action 'self'; base-uri 'none'; object-src 'none'",
    "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store"}
RETRY_AFTER = "2"              # seconds a client is told to wait when the database is busy
WRITE_SLOTS, WRITE_QUEUE = 8, 64
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Redirect(Exception):
    """Send the browser to `to`, a path on this site (the Location is always relative)."""

    def __init__(self, to: str):
        self.to = to


class BodyTooLarge(Exception):
    pass


def relative(location: bytes) -> bytes:
    """A redirect target without scheme and host (never reflecting a Host header): path, query and fragment."""
    parts = urlsplit(location.decode("latin-1"))
    if not (parts.scheme or parts.netloc):
        return location
    path = "/" + parts.path.lstrip("/\\")
    return (path + (f"?{parts.query}" if parts.query else "") + (f"#{parts.fragment}" if parts.fragment else "")
            ).encode("latin-1")


def parse_proxies(spec: str | list[str] | None) -> tuple[Network, ...]:
    """Trusted proxy addresses or networks from a comma list ("127.0.0.1, 10.0.0.0/8"); ValueError naming a bad one."""
    parts = spec.split(",") if isinstance(spec, str) else list(spec or [])
    out = []
    for p in (x.strip() for x in parts):
        if p:
            try:
                out.append(ipaddress.ip_network(p, strict=False))
            except ValueError:
                raise ValueError(f"trusted proxies: {p[:60]!r} is not an IP address or network") from None
    return tuple(out)


def client_address(request: Request, proxies: tuple[Network, ...]) -> str:
    """The address a request came from: the peer, unless the peer is a trusted proxy; then the right-most address of
    X-Forwarded-For that is not a trusted proxy. A forwarded header that is over-long or holds anything but IP
    addresses answers 400; from an untrusted peer the header is ignored."""
    peer = request.client.host if request.client else ""
    if not proxies or not _in(peer, proxies):
        return peer
    raw = ",".join(request.headers.getlist("x-forwarded-for"))
    if not raw:
        return peer
    if len(raw) > MAX_FORWARDED:
        raise HTTPException(400, f"X-Forwarded-For over {MAX_FORWARDED} characters")
    try:
        chain = [ipaddress.ip_address(x.strip()) for x in raw.split(",")]
    except ValueError:
        raise HTTPException(400, "X-Forwarded-For: not a list of IP addresses") from None
    for addr in reversed(chain):
        if not any(addr in net for net in proxies):
            return str(addr)
    return str(chain[0])


def _in(host: str, nets: tuple[Network, ...]) -> bool:
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(addr in net for net in nets)


@dataclass
class Ctx:
    """What the routes share: the engine, templates and settings."""
    engine: Engine
    templates: Jinja2Templates
    session_hours: float
    secure_cookies: bool
    proxies: tuple[Network, ...] = field(default=())

    @property
    def session_life(self) -> timedelta:
        return timedelta(hours=self.session_hours)

    def page(self, request: Request, template: str, status: int = 200, **ctx) -> HTMLResponse:
        return self.templates.TemplateResponse(request, template, ctx, status_code=status)

    def session(self, request: Request, next_url: str = "") -> auth.Session:
        """The request's live session (its expiry pushed back while the user is active), or a redirect to log in."""
        s = auth.lookup_session(self.engine, request.cookies.get(SESSION_COOKIE), extend=self.session_life)
        if s is None:
            raise Redirect("/login" + (f"?next={next_url}" if next_url else ""))
        return s

    def admin(self, request: Request) -> auth.Session:
        s = self.session(request)
        if not s.user.is_admin:
            raise HTTPException(403, "admins only")
        return s

    def client(self, request: Request) -> str:
        return client_address(request, self.proxies)

    async def write(self, fn, *args):
        """fn(*args) in the threadpool, among at most WRITE_SLOTS writers; 503 at once when WRITE_QUEUE wait."""
        limiter = _limiters.get(asyncio.get_running_loop())
        if limiter is None:
            limiter = _limiters[asyncio.get_running_loop()] = CapacityLimiter(WRITE_SLOTS)
        if limiter.statistics().tasks_waiting >= WRITE_QUEUE:
            raise HTTPException(503, "the server is busy; nothing was lost, try again in a moment",
                                headers={"Retry-After": RETRY_AFTER})
        return await anyio.to_thread.run_sync(functools.partial(fn, *args), limiter=limiter)


_limiters: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()     # one write limiter per event loop


def check_csrf(s: auth.Session, form: dict[str, str]) -> dict[str, str]:
    if not auth.csrf_ok(s.csrf, form.pop("csrf", None)):
        raise HTTPException(403, "invalid or missing CSRF token; reload the page")
    return form


async def read_form(request: Request) -> dict[str, str]:
    """The posted form as strings; files (400), a field sent twice (400) and bodies over MAX_BODY (413) are refused."""
    try:
        form = await request.form(max_files=0, max_fields=200)
    except (HTTPException, BodyTooLarge):
        raise
    except Exception as e:                        # malformed multipart and the like
        raise HTTPException(400, f"unreadable form: {e}") from None
    if any(not isinstance(v, str) for v in form.values()):
        raise HTTPException(400, "file uploads are not accepted here")
    twice = sorted(k for k, n in Counter(k for k, _ in form.multi_items()).items() if n > 1)
    if twice:
        raise HTTPException(400, f"field {twice[0][:40]!r} sent more than once")
    return dict(form.items())
