"""The control plane's HTTP/1.x connection: Go net/http + gorilla/mux behaviour, byte for byte.

Hand-rolled rather than an ASGI app under uvicorn, because byte-for-byte
compatibility is the point: the real server's exact status lines, content
types, empty 405s and where its request-id header appears are easiest to
guarantee when we write the bytes ourselves, and it runs in the data plane's
loop with direct access to the proxies (no thread hop, no extra dependency).

What the real server's stack does, and this does too:

- timeouts: a request must arrive in full within 15 s of its first byte (or
  of the connection's start), a kept-alive connection may idle 60 s, and a
  response must be taken within 30 s; then the connection is closed silently;
- `Expect: 100-continue` is answered with `100 Continue` when the handler will
  read the body; otherwise the request is answered at once and the
  connection closed (the body is never read); any other `Expect` is a 417;
- an HTTP/1.0 request is answered as HTTP/1.0 (kept alive only on request);
- a path that is not clean (`//proxies`, `/a/../proxies`) is a 301 to the
  cleaned one (gorilla/mux), before routing;
- only routed requests pass the middlewares: the request-id header and the
  browser block apply to them, not to 301/404/405 or to malformed requests;
- a malformed request is a plain 400, a head over 1 MiB a 431, an unknown
  transfer coding a 501 (`_httpparse`); on a 431 or 413 the connection is
  half-closed and drained for 0.5 s, so the client reads the answer instead
  of a reset.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from typing import cast

from harness.toxiproxy._api import Api, Response, Route, error
from harness.toxiproxy._httpparse import (
    MAX_BODY,
    MAX_HEAD,
    YIELD,
    Head,
    HttpError,
    RequestParser,
    clean_path,
    split_target,
)

__all__ = ["HttpProtocol", "new_request_id", "READ_TIMEOUT", "IDLE_TIMEOUT", "WRITE_TIMEOUT"]

#: The real server's http.Server timeouts (api.go).
READ_TIMEOUT = 15.0
IDLE_TIMEOUT = 60.0
WRITE_TIMEOUT = 30.0
_LINGER = 0.5  # Go's rstAvoidanceDelay after a 431
_PIPELINE_CAP = MAX_HEAD + MAX_BODY  # bytes buffered while a handler runs before reading pauses

_B32HEX = "0123456789abcdefghijklmnopqrstuv"
_counter = itertools.count(int.from_bytes(os.urandom(3), "big"))
_machine = os.urandom(3)
_REASONS = {
    100: "Continue", 200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently",
    400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
    413: "Request Entity Too Large", 417: "Expectation Failed", 431: "Request Header Fields Too Large",
    500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_PATH_SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~$&+,/:;=@")
_ERROR_HEADERS = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"


def new_request_id() -> str:
    """An xid-style id (20 base32hex characters), like the real server's header value."""
    raw = (
        int(time.time()).to_bytes(4, "big")
        + _machine
        + (os.getpid() & 0xFFFF).to_bytes(2, "big")
        + (next(_counter) & 0xFFFFFF).to_bytes(3, "big")
    )
    bits = int.from_bytes(raw, "big") << 4  # 96 bits → 100 bits = 20 digits of 5 bits
    return "".join(_B32HEX[(bits >> (95 - 5 * i)) & 31] for i in range(20))


def _http_date() -> str:
    t = time.gmtime()
    return f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"


def _escape_path(path: str) -> str:
    """Go's `url.EscapedPath` for a path (encodePath mode)."""
    raw = path.encode("utf-8", "surrogateescape")
    return "".join(chr(b) if b in _PATH_SAFE else f"%{b:02X}" for b in raw)


class HttpProtocol(asyncio.Protocol):
    """One control-plane connection: parse a request, answer it, repeat (keep-alive)."""

    def __init__(
        self,
        api: Api,
        *,
        read_timeout: float = READ_TIMEOUT,
        idle_timeout: float = IDLE_TIMEOUT,
        write_timeout: float = WRITE_TIMEOUT,
    ) -> None:
        self.api = api
        self.read_timeout = read_timeout
        self.idle_timeout = idle_timeout
        self.write_timeout = write_timeout
        self.loop = asyncio.get_running_loop()
        self.parser = RequestParser()
        self.transport: asyncio.Transport | None = None
        self.head: Head | None = None  # read, its body not yet
        self.busy = False  # a handler is running
        self.closing = False  # answered for the last time: input is discarded
        self.idle = False  # waiting for the next request on a kept-alive connection
        self.paused = False
        self.timer: asyncio.TimerHandle | None = None  # read or idle deadline
        self.write_timer: asyncio.TimerHandle | None = None
        self.resume: asyncio.Handle | None = None  # the rest of a budgeted body parse
        self.task: asyncio.Task[None] | None = None  # held so it is not garbage-collected
        self.advancing = False  # inside _advance: a synchronous answer must not recurse into it
        self.eof = False  # the client half-closed: answer what is complete, then close

    # -- asyncio callbacks ----------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        self._arm(self.read_timeout)

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        if self.idle:  # a new request begins: Go's read deadline starts now
            self.idle = False
            self._arm(self.read_timeout)
        self.parser.feed(data)
        if not self.busy and self.resume is None:
            self._advance()
        self._flow()

    def eof_received(self) -> bool | None:
        """The client sends nothing more: answer what is complete (as Go does), then close."""
        self.eof = True
        if self.busy or self.resume is not None:
            return True  # the answer is on its way; _send closes
        self._advance()
        return True if self.busy else None  # a request cut short is never answered

    def pause_writing(self) -> None:
        if self.write_timer is None and self.transport is not None:
            self.write_timer = self.loop.call_later(self.write_timeout, self.transport.abort)

    def resume_writing(self) -> None:
        if self.write_timer is not None:
            self.write_timer.cancel()
            self.write_timer = None

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        for handle in (self.timer, self.write_timer, self.resume):
            if handle is not None:
                handle.cancel()
        self.timer = self.write_timer = self.resume = None

    # -- reading --------------------------------------------------------------

    def _arm(self, seconds: float) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.loop.call_later(seconds, self._timed_out)

    def _timed_out(self) -> None:
        self.timer = None
        if self.transport is not None and not self.busy:
            self.closing = True
            self.transport.close()

    def _flow(self) -> None:
        """Pause reading while a body parse is being resumed or a handler runs with a full buffer."""
        if self.transport is None or self.closing:
            return
        pause = self.resume is not None or (self.busy and self.parser.buffered > _PIPELINE_CAP)
        if pause and not self.paused:
            self.transport.pause_reading()
        elif not pause and self.paused:
            self.transport.resume_reading()
        self.paused = pause

    def _advance(self) -> None:
        """Parse as far as the bytes go; dispatch a complete request."""
        self.resume = None
        self.advancing = True
        try:
            self._advance_loop()
        finally:
            self.advancing = False
        if self.eof and not (self.busy or self.closing or self.resume) and self.transport is not None:
            self.closing = True  # half-closed with nothing complete left to answer
            self.transport.close()
        self._flow()

    def _advance_loop(self) -> None:
        while not self.busy and not self.closing and self.transport is not None:
            try:
                if self.head is None:
                    head = self.parser.head()
                    if head is None:
                        break
                    self.head = head
                    if head.expect and self._expectation(head):
                        break
                body = self.parser.body()
            except HttpError as exc:
                self._refuse(exc)
                break
            if body is None:
                break
            if body is YIELD:  # a long chunked body: let the data plane run, then go on
                self.resume = self.loop.call_soon(self._advance)
                break
            head, self.head = self.head, None
            assert isinstance(body, bytes)
            self._dispatch(head, body, keep=head.keep_alive)

    def _expectation(self, head: Head) -> bool:
        """Handle `Expect`; True if the request was answered (or refused) without its body."""
        if "100-continue" not in {t.strip().lower() for t in head.expect.split(",")}:
            self._write_final(417, (), close=True)
            return True
        if head.minor == 0 or not head.has_body:
            return False  # Go ignores it
        target = self._resolve(head)
        if isinstance(target, Route) and self.api.reads_body(target, head.headers.get("user-agent", "")):
            assert self.transport is not None
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            return False
        self._dispatch(head, b"", keep=False)  # answered unread; the unread body forbids reuse
        return True

    # -- answering ------------------------------------------------------------

    def _resolve(self, head: Head) -> Route | Response:
        """What gorilla/mux makes of the request: a route, or its 301/404/405 (the server's 200 for `OPTIONS *`)."""
        path, query = split_target(head.target)
        if path == "*" and head.method == "OPTIONS":
            return 200, None, (), b""
        cleaned = clean_path(path)
        if cleaned != path:
            location = _escape_path(cleaned) + (f"?{query}" if query else "")
            return 301, None, (("Location", location),), b""
        return self.api.route(head.method, path)

    def _dispatch(self, head: Head, body: bytes, *, keep: bool) -> None:
        self.busy = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        try:
            target = self._resolve(head)
        except HttpError as exc:
            self._refuse(exc)
            return
        if isinstance(target, Route):
            self.task = self.loop.create_task(self._answer(head, target, body, keep))
        else:
            self._send(head, target, keep=keep, request_id=False)

    async def _answer(self, head: Head, route: Route, body: bytes, keep: bool) -> None:
        try:
            response = await self.api.dispatch(route, body, head.headers.get("user-agent", ""))
        except Exception as exc:  # a bug must not hang the client: answer 500 like Go's recover
            response = error(500, f"internal error: {type(exc).__name__}: {exc}")
        self._send(head, response, keep=keep, request_id=True)

    def _send(self, head: Head, response: Response, *, keep: bool, request_id: bool) -> None:
        status, content_type, extra, body = response
        lines = [f"HTTP/1.{head.minor} {status} {_REASONS.get(status, 'Unknown')}"]
        if content_type is not None:
            lines.append(f"Content-Type: {content_type}")
        lines += [f"{k}: {v}" for k, v in extra]
        if request_id:
            lines.append(f"X-Toxiproxy-Request-Id: {new_request_id()}")
        lines.append(f"Date: {_http_date()}")
        if status != 204:
            lines.append(f"Content-Length: {len(body)}")
        if not keep and head.minor == 1:
            lines.append("Connection: close")
        elif keep and head.minor == 0:
            lines.append("Connection: keep-alive")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if head.method != "HEAD" and status != 204:
            data += body
        if self.transport is None:
            return
        self.transport.write(data)
        self.busy = False
        if not keep or (self.eof and not self.parser.buffered):
            self.closing = True
            self.transport.close()
            return
        if self.parser.buffered:  # pipelined: the next request's deadline starts now
            self._arm(self.read_timeout)
            if not self.advancing:
                self._advance()
        else:
            self.idle = True
            self._arm(self.idle_timeout)
        self._flow()

    def _write_final(self, status: int, extra: tuple[str, ...], *, close: bool) -> None:
        """A response without a body and without middlewares (417)."""
        if self.transport is None:
            return
        head = f"HTTP/1.1 {status} {_REASONS[status]}\r\nConnection: close\r\nDate: {_http_date()}\r\nContent-Length: 0\r\n\r\n"
        self.transport.write(head.encode())
        if close:
            self.closing = True
            self.transport.close()

    def _refuse(self, exc: HttpError) -> None:
        """Go's answer to a request it could not read, then close (after draining for 431/413)."""
        if self.transport is None:
            return
        reason = f"{exc.status} {_REASONS.get(exc.status, 'Unknown')}"
        if exc.status == 501:
            text = f"HTTP/1.1 {reason}{_ERROR_HEADERS}Unsupported transfer encoding"
        elif exc.shown:
            text = f"HTTP/1.1 {reason}: {exc.detail}{_ERROR_HEADERS}{reason}: {exc.detail}"
        else:
            text = f"HTTP/1.1 {reason}{_ERROR_HEADERS}{reason}"
        self.transport.write(text.encode())
        self.closing = True
        self.busy = False
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if exc.status in (413, 431) and self.transport.can_write_eof():
            # the client may still be sending: half-close, drain, then close (no reset)
            self.transport.write_eof()
            if self.paused:
                self.transport.resume_reading()
                self.paused = False
            self.timer = self.loop.call_later(_LINGER, self.transport.close)
        else:
            self.transport.close()

