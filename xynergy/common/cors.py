"""CORS exactly as the review's fix: an allowlist, wildcard subdomains matched safely.

``https://*.xynergy.com`` means one or more DNS labels under ``xynergy.com``,
over https, on the default port. Origins are parsed, never substring-matched, so
``https://evil-xynergy.com``, ``https://xynergy.com.evil.io``,
``http://a.xynergy.com``, ``null`` and ``*`` get no grant. Credentials are
allowed only for allowlisted origins. The ``cors-wildcard`` defect brings back
the regression: every origin is reflected, with credentials.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xynergy.common.http import header, is_preflight

__all__ = ["OriginPolicy", "CORSMiddleware", "DEFAULT_ALLOWED_ORIGINS"]

DEFAULT_ALLOWED_ORIGINS = ("https://xynergy-platform.com", "https://api.xynergy.dev", "https://*.xynergy.com")
ALLOW_METHODS = "GET, POST, PUT, DELETE"
ALLOW_HEADERS = ("authorization", "content-type", "x-api-key", "x-request-id")
EXPOSE_HEADERS = "x-request-id, x-xynergy-revision, x-xynergy-region, x-xynergy-cache, x-xynergy-tier"
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def _parse_origin(origin: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a serialized origin, or None if it is not one."""
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return None
    if parts.path or parts.query or parts.fragment or origin != origin.strip():
        return None
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    return parts.scheme, parts.hostname.lower(), port


class OriginPolicy:
    """Decides whether an Origin gets a CORS grant."""

    def __init__(self, allowed: Iterable[str] = DEFAULT_ALLOWED_ORIGINS, *, allow_any: bool = False) -> None:
        self.allow_any = allow_any
        self._exact: set[tuple[str, str, int]] = set()
        self._suffixes: list[tuple[str, str, int]] = []
        for entry in allowed:
            scheme, _, rest = entry.partition("://")
            if rest.startswith("*."):
                parsed = _parse_origin(f"{scheme}://{rest[2:]}")
                if parsed is None:
                    raise ValueError(f"bad CORS pattern {entry!r}")
                self._suffixes.append(parsed)
            else:
                parsed = _parse_origin(entry)
                if parsed is None:
                    raise ValueError(f"bad CORS origin {entry!r}")
                self._exact.add(parsed)

    def allows(self, origin: str) -> bool:
        """True when ``origin`` is allowlisted (or anything goes, under the defect)."""
        if self.allow_any:
            return True
        parsed = _parse_origin(origin)
        if parsed is None:
            return False
        if parsed in self._exact:
            return True
        scheme, host, port = parsed
        for s_scheme, s_host, s_port in self._suffixes:
            if scheme != s_scheme or port != s_port or not host.endswith("." + s_host):
                continue
            labels = host[: -len(s_host) - 1].split(".")
            if all(_LABEL.match(label) for label in labels):
                return True
        return False


class CORSMiddleware:
    """Pure-ASGI CORS: answers preflights, decorates simple responses.

    Paths under ``skip_prefixes`` are left alone (the edge passes them through
    so the upstream's own policy is what the client sees).
    """

    def __init__(self, app: ASGIApp, policy: OriginPolicy, skip_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.policy = policy
        self.skip_prefixes = skip_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.skip_prefixes and scope["path"].startswith(self.skip_prefixes)):
            await self.app(scope, receive, send)
            return
        origin = header(scope, "origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        if is_preflight(scope):
            await self._preflight(scope, origin, send)
            return
        allowed = self.policy.allows(origin)

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.add_vary_header("Origin")
                if allowed:
                    headers["access-control-allow-origin"] = origin
                    headers["access-control-allow-credentials"] = "true"
                    headers["access-control-expose-headers"] = EXPOSE_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(self, scope: Scope, origin: str, send: Send) -> None:
        method = (header(scope, "access-control-request-method") or "").upper()
        requested = [h.strip().lower() for h in (header(scope, "access-control-request-headers") or "").split(",")]
        requested = [h for h in requested if h]
        ok = self.policy.allows(origin) and (
            self.policy.allow_any or (method in ALLOW_METHODS.split(", ") and all(h in ALLOW_HEADERS for h in requested))
        )
        headers: list[tuple[bytes, bytes]] = [(b"vary", b"Origin"), (b"content-length", b"0")]
        if ok:
            allow_headers = ", ".join(requested) if self.policy.allow_any and requested else ", ".join(ALLOW_HEADERS)
            headers += [
                (b"access-control-allow-origin", origin.encode("latin-1")),
                (b"access-control-allow-credentials", b"true"),
                (b"access-control-allow-methods", ALLOW_METHODS.encode()),
                (b"access-control-allow-headers", allow_headers.encode("latin-1")),
                (b"access-control-max-age", b"600"),
            ]
        await send({"type": "http.response.start", "status": 204 if ok else 403, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
