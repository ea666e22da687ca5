"""Defect injection (latency, errors, memory growth) and the memory budget watch.

Only ``/v1/`` requests are affected, so probes and metrics keep telling the
truth about a defective revision.
"""

from __future__ import annotations

import asyncio
import logging
import random

import psutil
from starlette.types import ASGIApp, Receive, Scope, Send

from xynergy.common.http import send_json
from xynergy.defects import Defects

__all__ = ["DefectMiddleware", "MemoryGrower", "MemoryWatch"]

log = logging.getLogger("xynergy.defects")


class DefectMiddleware:
    """Adds the configured delay and error ratio to ``/v1/`` HTTP requests."""

    def __init__(self, app: ASGIApp, defects: Defects, rng: random.Random | None = None) -> None:
        self.app = app
        self.defects = defects
        self.rng = rng or random.Random()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        d = self.defects
        if scope["type"] != "http" or not scope["path"].startswith("/v1/") or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        if d.latency_s and self.rng.random() < d.latency_fraction:
            await asyncio.sleep(d.latency_s)
        if d.error_ratio and self.rng.random() < d.error_ratio:
            await send_json(send, 500, {"detail": "injected defect: error"})
            return
        await self.app(scope, receive, send)


class MemoryGrower:
    """The ``memory-growth`` defect: retains a chunk every tick, up to a cap."""

    def __init__(self, bytes_per_s: int, cap_bytes: int, tick_s: float = 0.25) -> None:
        self.bytes_per_s = bytes_per_s
        self.cap_bytes = cap_bytes
        self.tick_s = tick_s
        self.retained: list[bytearray] = []
        self.total = 0

    async def run(self) -> None:
        """Grow until cancelled or until the cap (the machine is shared; never beyond)."""
        chunk = max(1, int(self.bytes_per_s * self.tick_s))
        while self.total + chunk <= self.cap_bytes:
            block = bytearray(chunk)
            block[::4096] = b"x" * len(block[::4096])  # touch every page so RSS grows
            self.retained.append(block)
            self.total += chunk
            await asyncio.sleep(self.tick_s)
        log.warning("memory-growth defect reached its cap", extra={"retained_bytes": self.total})


class MemoryWatch:
    """Samples RSS; over the budget the service reports itself not ready."""

    def __init__(self, budget_bytes: int, interval_s: float = 1.0) -> None:
        self.budget_bytes = budget_bytes
        self.interval_s = interval_s
        self.process = psutil.Process()
        self.rss = self.process.memory_info().rss

    @property
    def over_budget(self) -> bool:
        return bool(self.rss > self.budget_bytes)

    async def run(self) -> None:
        while True:
            self.rss = self.process.memory_info().rss
            if self.over_budget:
                log.error("memory budget exceeded", extra={"rss_bytes": self.rss, "budget_bytes": self.budget_bytes})
            await asyncio.sleep(self.interval_s)
