"""Request bodies read under limits, before a request may hold an in-flight slot.

Why: the limits that keep a service up must act before anything buffers or
waits. This middleware sits after the key check and before the concurrency
cap, and for every request that declares a body:

- refuses a CORS preflight that declares one (400: a preflight has no body,
  and the edge would otherwise read or forward it without a key);
- refuses a declared ``Content-Length`` over ``max_body_bytes`` before reading
  a byte (413), and counts bytes while reading a chunked body (413);
- gives the whole body ``body_timeout_s`` to arrive (408), so a client that
  trickles cannot hold a connection, or a slot, for the request timeout;
- rejects JSON with non-finite numbers (``NaN``, ``Infinity``, ``1e400``) or
  too deep to parse with 422 before a handler sees it: the standard library
  accepts them, and a validation error that echoes ``nan`` cannot be encoded.

Every refusal closes the connection (``connection: close``): the rest of the
body is never read. The body is then replayed to the app in one message, so
it is read exactly once from the network. Requests without a body pass as
they are.
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xynergy.common.http import is_preflight, send_json

__all__ = ["RequestGuardMiddleware", "BodyRefused", "check_json"]

_CLOSE = [(b"connection", b"close")]


class BodyRefused(Exception):
    """A body the guard will not pass on; ``status`` and ``detail`` are the answer."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


def _reject_constant(name: str) -> Any:
    raise BodyRefused(422, f"non-finite number {name} in JSON body")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise BodyRefused(422, f"non-finite number {text[:20]} in JSON body (out of range)")
    return value


def check_json(body: bytes) -> None:
    """Raise ``BodyRefused(422)`` for non-finite numbers or unparseable depth; syntax errors pass.

    Malformed JSON is left to the framework, which answers it with its usual 422.
    """
    try:
        json.loads(body, parse_constant=_reject_constant, parse_float=_finite_float)
    except json.JSONDecodeError:
        return
    except (ValueError, RecursionError) as exc:  # a 5000-digit integer, 100 000 nested arrays
        raise BodyRefused(422, f"JSON body not accepted: {type(exc).__name__}") from None


class RequestGuardMiddleware:
    """Body size, body timeout and JSON number checks for HTTP requests (see module doc)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = 2 * 1024**2, body_timeout_s: float = 10.0) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length: bytes | None = None
        chunked = False
        is_json = False
        for key, value in scope["headers"]:
            if key == b"content-length":
                length = value
            elif key == b"transfer-encoding":
                chunked = True
            elif key == b"content-type":
                is_json = b"json" in value.lower()
        if length is None and not chunked:
            await self.app(scope, receive, send)  # no body: nothing to guard
            return
        try:
            declared = int(length) if length is not None and length.isdigit() else None
            if (chunked or declared != 0) and is_preflight(scope):
                raise BodyRefused(400, "a CORS preflight carries no body")
            if length is not None and declared is None:
                raise BodyRefused(400, "content-length is not a number")
            if declared is not None and declared > self.max_body_bytes:
                raise BodyRefused(413, f"request body over {self.max_body_bytes} bytes")
            body = await self._read(receive)
            if is_json and body:
                check_json(body)
        except BodyRefused as refused:
            await send_json(send, refused.status, {"detail": refused.detail}, _CLOSE)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.body_timeout_s):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":
                        raise BodyRefused(400, "client disconnected")  # nobody reads this answer
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_body_bytes:
                        raise BodyRefused(413, f"request body over {self.max_body_bytes} bytes")
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        except TimeoutError:
            raise BodyRefused(408, f"request body not received within {self.body_timeout_s:g}s") from None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that yields the body already read, then whatever the client does next."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
