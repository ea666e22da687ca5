"""Helpers for the platform tests: configs, in-process apps, real service processes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from xynergy import ServiceConfig
from tests.conftest import free_port

API_KEY = "test-key-1"
OTHER_KEY = "test-key-2"
AUTH = {"x-api-key": API_KEY}


def config(service: str, **overrides: Any) -> ServiceConfig:
    """A ServiceConfig with test keys and fast timings."""
    overrides.setdefault("api_keys", (API_KEY, OTHER_KEY))
    overrides.setdefault("tier_latency_ms", {"small": 1.0, "medium": 2.0, "large": 3.0})
    return ServiceConfig(service=service, **overrides)


@contextlib.asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run ``app``'s lifespan and yield a client talking to it in-process."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


def asgi(app: FastAPI) -> httpx.ASGITransport:
    """A transport that sends an upstream's requests to ``app`` in-process."""
    return httpx.ASGITransport(app=app)


@dataclass
class ServiceProcess:
    """A service running as ``python -m xynergy`` on a free port."""

    service: str
    port: int
    proc: subprocess.Popen[bytes]
    spawned_at: float
    log: Any = None
    ready_after_s: float | None = None
    args: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 20.0) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.stderr()
                raise RuntimeError(f"{self.service} exited {self.proc.returncode}: {err[-2000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=0.5).status_code == 200:
                    self.ready_after_s = time.monotonic() - self.spawned_at
                    return self.ready_after_s
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"{self.service} not ready after {timeout}s")

    def stderr(self) -> str:
        """What the service wrote to stderr so far (its JSON logs)."""
        if self.log is None:
            return ""
        self.log.flush()
        self.log.seek(0)
        return str(self.log.read().decode(errors="replace"))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return int(self.proc.returncode)


def spawn_args(service: str, *args: str, env: dict[str, str] | None = None,
               port: int | None = None) -> ServiceProcess:
    port = port or free_port()
    full_env = {**os.environ, "XYNERGY_API_KEYS": f"{API_KEY},{OTHER_KEY}", **(env or {})}
    argv = [sys.executable, "-m", "xynergy", service, "--port", str(port), *args]
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(argv, env=full_env, stdout=subprocess.DEVNULL, stderr=log)
    return ServiceProcess(service, port, proc, time.monotonic(), log=log, args=list(args))


class SwitchableTransport(httpx.AsyncBaseTransport):
    """An in-process upstream whose link can be cut: while ``down``, connecting fails.

    The app behind it is the real service; only the network is simulated, the
    way a refused connection looks to httpx.
    """

    def __init__(self, app: FastAPI) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.down = False
        self.attempts = 0
        self.seen: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        self.seen.append(request)
        if self.down:
            raise httpx.ConnectError("connection refused (link down)", request=request)
        return await self.inner.handle_async_request(request)


def sample(app: FastAPI, name: str, labels: dict[str, str] | None = None) -> float:
    """The current value of a metric in an app's own registry (0 when absent)."""
    value = app.state.metrics.registry.get_sample_value(name, labels or {})
    return float(value or 0.0)
