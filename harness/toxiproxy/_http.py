"""A small HTTP/1.1 server protocol for the control plane.

Hand-rolled rather than an ASGI app under uvicorn, because byte-for-byte
compatibility is the point: the real server's exact status lines, content
types (`application/json;charset=utf-8` on /version, text/plain JSON errors),
empty 405s and request-id header are easiest to guarantee when we write the
bytes ourselves, and it runs in the data plane's loop with direct access to
the proxies (no thread hop, no extra dependency). It is not the hot path:
requests are handled one at a time per connection, with keep-alive.
"""

from __future__ import annotations

import asyncio
from typing import cast
import itertools
import os
import time
from email.utils import formatdate
from http import HTTPStatus
from urllib.parse import unquote

from harness.toxiproxy._api import Api, Response, error

__all__ = ["HttpProtocol", "new_request_id"]

_MAX_HEAD = 64 * 1024
_MAX_BODY = 16 * 1024 * 1024
_B32HEX = "0123456789abcdefghijklmnopqrstuv"
_counter = itertools.count(int.from_bytes(os.urandom(3), "big"))
_machine = os.urandom(3)


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


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class _BadRequest(Exception):
    pass


class HttpProtocol(asyncio.Protocol):
    """One control-plane connection: parse a request, answer it, repeat."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.busy = False
        self.task: asyncio.Task[None] | None = None  # held so it is not garbage-collected

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.busy:
            self._next()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def _next(self) -> None:
        try:
            request = self._parse()
        except _BadRequest:
            self._send_raw(b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                           b"Connection: close\r\n\r\n400 Bad Request", close=True)
            return
        if request is None:
            return
        self.busy = True
        self.task = asyncio.get_running_loop().create_task(self._answer(*request))

    def _parse(self) -> tuple[str, str, dict[str, str], bytes, bool] | None:
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buf) > _MAX_HEAD:
                raise _BadRequest
            return None
        lines = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ")
        except ValueError:
            raise _BadRequest from None
        if not version.startswith("HTTP/1."):
            raise _BadRequest
        headers: dict[str, str] = {}
        for line in lines[1:]:
            key, sep, value = line.partition(":")
            if not sep:
                raise _BadRequest
            headers[key.strip().lower()] = value.strip()
        start = end + 4
        if "chunked" in headers.get("transfer-encoding", "").lower():
            decoded = self._dechunk(start)
            if decoded is None:
                return None
            body, consumed = decoded
        else:
            try:
                length = int(headers.get("content-length", "0"))
            except ValueError:
                raise _BadRequest from None
            if length < 0 or length > _MAX_BODY:
                raise _BadRequest
            if len(self.buf) < start + length:
                return None
            body, consumed = bytes(self.buf[start : start + length]), start + length
        del self.buf[:consumed]
        conn = headers.get("connection", "").lower()
        keep = conn != "close" if version == "HTTP/1.1" else conn == "keep-alive"
        path = unquote(target.split("?", 1)[0])
        return method, path, headers, body, keep

    def _dechunk(self, pos: int) -> tuple[bytes, int] | None:
        body = bytearray()
        while True:
            eol = self.buf.find(b"\r\n", pos)
            if eol < 0:
                return None
            try:
                size = int(bytes(self.buf[pos:eol]).split(b";")[0], 16)
            except ValueError:
                raise _BadRequest from None
            pos = eol + 2
            if size == 0:
                end = self.buf.find(b"\r\n\r\n", pos - 2)
                return (bytes(body), end + 4) if end >= 0 else None
            if len(self.buf) < pos + size + 2:
                return None
            body += self.buf[pos : pos + size]
            pos += size + 2
            if len(body) > _MAX_BODY:
                raise _BadRequest

    async def _answer(self, method: str, path: str, headers: dict[str, str], body: bytes, keep: bool) -> None:
        try:
            response = await self.api.handle(method, path, body, headers.get("user-agent", ""))
        except Exception as exc:  # a bug must not hang the client: answer 500 like Go's recover
            response = error(500, f"internal error: {type(exc).__name__}: {exc}")
        self._send(response, head_only=method == "HEAD", keep=keep)
        self.busy = False
        if keep and self.transport is not None and self.buf:
            self._next()

    def _send(self, response: Response, *, head_only: bool, keep: bool) -> None:
        status, content_type, extra, body = response
        lines = [f"HTTP/1.1 {status} {_reason(status)}"]
        if content_type is not None:
            lines.append(f"Content-Type: {content_type}")
        lines += [f"{k}: {v}" for k, v in extra]
        lines.append(f"X-Toxiproxy-Request-Id: {new_request_id()}")
        lines.append(f"Date: {formatdate(usegmt=True)}")
        if status != 204:
            lines.append(f"Content-Length: {len(body)}")
        if not keep:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self._send_raw(head + (b"" if head_only or status == 204 else body), close=not keep)

    def _send_raw(self, data: bytes, *, close: bool) -> None:
        if self.transport is None:
            return
        self.transport.write(data)
        if close:
            self.transport.close()
