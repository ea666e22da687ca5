"""The review's container limits: at most N requests in flight, a request timeout.

Beyond ``max_concurrency`` HTTP requests in flight the next one is refused at
once with 503 and ``Retry-After`` (what Cloud Run's concurrency setting does),
instead of queueing until every caller times out. Probes (``/healthz``,
``/readyz``, ``/metrics``) are exempt so an overloaded service can still be
observed. WebSockets are long-lived and are not counted.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xynergy.common.http import send_json

__all__ = ["LimitsMiddleware", "InFlight", "PROBE_PATHS"]

PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class InFlight:
    """Counters the middleware keeps, readable by metrics (the middleware is built lazily)."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.rejected = 0


class LimitsMiddleware:
    """Concurrency cap (503 + Retry-After) and request timeout (504) for HTTP."""

    def __init__(self, app: ASGIApp, max_concurrency: int = 50, timeout_s: float = 30.0,
                 counters: InFlight | None = None) -> None:
        self.app = app
        self.max_concurrency = max_concurrency
        self.timeout_s = timeout_s
        self.counters = counters or InFlight()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PROBE_PATHS:
            await self.app(scope, receive, send)
            return
        counters = self.counters
        if counters.in_flight >= self.max_concurrency:
            counters.rejected += 1
            await send_json(
                send, 503, {"detail": "too many requests in flight"}, [(b"retry-after", b"1")]
            )
            return
        counters.in_flight += 1
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            async with asyncio.timeout(self.timeout_s):
                await self.app(scope, receive, tracking_send)
        except TimeoutError:
            if started:
                raise
            await send_json(send, 504, {"detail": f"request timed out after {self.timeout_s:g}s"})
        finally:
            counters.in_flight -= 1
