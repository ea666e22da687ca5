"""API-key authentication: keys hashed on load, compared in constant time.

Every ``/v1/`` path (and ``/admin/`` on the edge) needs ``X-API-Key``: 401
without it, 403 with a wrong one. CORS preflights pass, because browsers send
them without credentials and the CORS layer answers them.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from xynergy.common.http import header, is_preflight, send_json

__all__ = ["KeyStore", "APIKeyMiddleware", "API_KEY_HEADER"]

API_KEY_HEADER = "x-api-key"


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class KeyStore:
    """Holds SHA-256 digests of the accepted keys, never the keys themselves."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._digests = tuple(_digest(k) for k in keys)
        if not self._digests:
            raise ValueError("KeyStore needs at least one key")

    def check(self, key: str) -> bool:
        """True when ``key`` is accepted; compares every digest so timing leaks nothing."""
        candidate = _digest(key)
        found = False
        for digest in self._digests:
            found |= hmac.compare_digest(candidate, digest)
        return found


class APIKeyMiddleware:
    """Pure-ASGI guard for the protected path prefixes (HTTP and WebSocket)."""

    def __init__(self, app: ASGIApp, keys: KeyStore, prefixes: tuple[str, ...] = ("/v1/",)) -> None:
        self.app = app
        self.keys = keys
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not scope["path"].startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "http" and is_preflight(scope):
            await self.app(scope, receive, send)
            return
        key = header(scope, API_KEY_HEADER)
        if key is None:
            status, detail = 401, "missing X-API-Key header"
        elif not self.keys.check(key):
            status, detail = 403, "invalid API key"
        else:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            # Closing before accept makes the server answer the handshake with 403.
            await send({"type": "websocket.close", "code": 1008, "reason": detail})
            return
        await send_json(send, status, {"detail": detail})
