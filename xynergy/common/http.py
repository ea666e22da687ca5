"""Small helpers for pure-ASGI middleware: read headers, send a JSON answer."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["ASGIEndpoint", "header", "is_preflight", "send_json"]


def header(scope: Scope, name: str) -> str | None:
    """The first value of header ``name`` (lower-case) in ``scope``, or None."""
    wanted = name.encode("latin-1")
    for key, value in scope.get("headers", ()):
        if key == wanted:
            return str(value.decode("latin-1"))
    return None


def is_preflight(scope: Scope) -> bool:
    """A CORS preflight: OPTIONS with Origin and Access-Control-Request-Method."""
    return (
        scope.get("method") == "OPTIONS"
        and header(scope, "origin") is not None
        and header(scope, "access-control-request-method") is not None
    )


async def send_json(
    send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """Send a complete JSON response."""
    payload = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": raw + (headers or [])})
    await send({"type": "http.response.body", "body": payload})


class ASGIEndpoint:
    """An ASGI function as a route endpoint: Starlette's ``Route`` then calls it as an app.

    A plain function endpoint is wrapped as a request handler (and FastAPI adds
    body parsing and dependency solving); the hot routes skip that layer.
    Example: ``router.add_route("/v1/x", ASGIEndpoint(app), methods=["POST"])``.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
