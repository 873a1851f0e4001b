"""Serving the rating app with uvicorn (`clinqa rate serve` and the tests): the server's own replies carry the app's
security headers, slow or partial requests time out, and forwarded headers are left to the app.

- uvicorn answers malformed HTTP itself (400, before the app sees a request); `GuardedH11` adds the security headers
  to that reply;
- a request whose headers and body have not all arrived `request_timeout` seconds after it began (a slowloris, a
  body shorter than its Content-Length) gets 408 and the connection is closed; idle keep-alive connections close
  after uvicorn's `timeout_keep_alive`;
- uvicorn's own proxy-header handling is off (it believes X-Forwarded-For from any loopback peer): the app decides,
  from its configured proxies (web.client_address).
"""

from __future__ import annotations

import asyncio

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from clinqa.rating.web import SECURITY_HEADERS

REQUEST_TIMEOUT = 15.0        # seconds for a request's headers and body to arrive
KEEP_ALIVE = 5                # seconds an idle connection stays open
HEADERS = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]


def _raw_reply(status: int, reason: bytes, body: bytes) -> bytes:
    head = [b"HTTP/1.1 %d %s" % (status, reason), b"content-type: text/plain; charset=utf-8",
            b"content-length: %d" % len(body), b"connection: close"] + [k + b": " + v for k, v in HEADERS]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


class GuardedH11(H11Protocol):
    """uvicorn's h11 protocol with security headers on its own error replies and a deadline for each request."""

    request_timeout = REQUEST_TIMEOUT
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and self.conn.their_state is h11.IDLE:
            self._arm()                                # the first bytes of a new request on a kept-alive connection
        super().data_received(data)
        if self.conn.their_state not in (h11.IDLE, h11.SEND_BODY):
            self._disarm()                             # the whole request is in (or the connection is done)

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = asyncio.get_running_loop().call_later(self.request_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        started = self.cycle is not None and self.cycle.response_started
        if self.cycle is not None:                    # the app, if it is reading the body, sees a disconnect
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        if not started:                               # nothing sent yet on this request: say why it ends
            self.transport.write(_raw_reply(408, b"Request Timeout", b"request not received in time"))
        self.transport.close()

    def send_400_response(self, msg: str) -> None:
        self._disarm()
        self.transport.write(_raw_reply(400, b"Bad Request", msg.encode("ascii", "replace")))
        self.transport.close()


def server_config(app, host: str = "127.0.0.1", port: int = 8000, request_timeout: float = REQUEST_TIMEOUT,
                  log_level: str = "warning") -> uvicorn.Config:
    """uvicorn's configuration for the rating app: GuardedH11, no proxy headers, short keep-alive."""
    protocol = type("GuardedH11Configured", (GuardedH11,), {"request_timeout": request_timeout})
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, http=protocol, proxy_headers=False,
                          timeout_keep_alive=KEEP_ALIVE, server_header=False)


def run_server(app, host: str = "127.0.0.1", port: int = 8000, request_timeout: float = REQUEST_TIMEOUT) -> None:
    """Serve until interrupted."""
    uvicorn.Server(server_config(app, host, port, request_timeout)).run()
