"""uvicorn's httptools protocol with a request-head size limit (431) and a head timeout (408).

Why: uvicorn (0.54, httptools) has neither. httptools grows a header value by
concatenation on every network read, so a 64 MiB header cost seconds of a
service's single event loop; and a client that sends half a request head
disarms the keep-alive timer and keeps its connection for ever. Both are
checked where the bytes arrive, before the ASGI app sees a request:

- more than ``max_header_bytes`` of a request head → ``431`` and close;
- a head not complete ``header_timeout_s`` after the connection opened (or
  after its first byte, for later requests on a kept-alive connection) →
  ``408`` and close.

Bodies are the ASGI guard's job (``xynergy.common.guard``).
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

__all__ = ["guarded_protocol", "MAX_HEADER_BYTES", "HEADER_TIMEOUT_S"]

MAX_HEADER_BYTES = 64 * 1024
"""Request line plus headers, as most proxies allow (nginx's is 4 x 8 KiB lines, Cloud Run's 64 KiB)."""
HEADER_TIMEOUT_S = 10.0


class _GuardedHttpTools(HttpToolsProtocol):
    max_header_bytes = MAX_HEADER_BYTES
    header_timeout_s = HEADER_TIMEOUT_S

    _in_head = True
    _head_bytes = 0
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            if self._head_timer is None:
                self._arm()
            self._head_bytes += len(data)
            if self._head_bytes > self.max_header_bytes + len(data):
                self._refuse(431, "request header fields too large")
                return
        super().data_received(data)
        if self._in_head and self._head_bytes > self.max_header_bytes and not self.transport.is_closing():
            self._refuse(431, "request header fields too large")

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        self._disarm()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True  # what comes next is the head of the next request
        self._head_bytes = 0

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._in_head and not self.transport.is_closing():
            self._refuse(408, "request head not received in time")

    def _refuse(self, status: int, message: str) -> None:
        self._disarm()
        body = message.encode()
        self.transport.write(b"".join([
            STATUS_LINE[status], b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: ", str(len(body)).encode(), b"\r\nconnection: close\r\n\r\n", body,
        ]))
        self.transport.close()


def guarded_protocol(max_header_bytes: int = MAX_HEADER_BYTES,
                     header_timeout_s: float = HEADER_TIMEOUT_S) -> type[HttpToolsProtocol]:
    """A protocol class for ``uvicorn.run(http=...)`` with these limits."""
    return type("GuardedHttpToolsProtocol", (_GuardedHttpTools,),
                {"max_header_bytes": max_header_bytes, "header_timeout_s": header_timeout_s})
