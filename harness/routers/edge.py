"""The embedded edge's traffic split (`GET/PUT /admin/traffic`) as a `TrafficRouter`.

    router = EdgeRouter("http://127.0.0.1:8080", api_key, service="ai-routing-engine",
                        baseline="ai-routing-engine", canary="ai-routing-engine@canary")
    router.set_canary_percent(10)
    ...
    router.restore()   # back to what the edge had before the first change

The routed service comes from the topology (the service that has a canary),
never a constant, so a topology whose canary is, say, `security-governance`
shifts that service's traffic. Every change is reported to `on_change` (the
platform's journal and the run's `weight_set` event listen there).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx

from harness._exceptions import ConfigError, ServiceUnreachable
from harness.routers._base import TrafficRouter, TrafficSplit

__all__ = ["EdgeRouter"]


class EdgeRouter(TrafficRouter):
    """Weights one service's canary through the edge's admin endpoint (API key guarded).

    **Parameters:**

    * `url` — the edge's own URL (not through a proxy: a fault on `client->edge`
      must not stop a rollback).
    * `api_key` — the platform's key.
    * `service`, `baseline`, `canary` — the upstream name the edge routes, and
      the two instances behind it (for `TrafficSplit`).
    * `on_change` — called with the split after every successful change.
    """

    def __init__(self, url: str, api_key: str, *, service: str, baseline: str, canary: str,
                 on_change: Callable[[TrafficSplit], None] | None = None, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.service, self.baseline, self.canary = service, baseline, canary
        self.on_change = on_change
        self._headers = {"X-API-Key": api_key}
        self._timeout = timeout
        self._found: TrafficSplit | None = None
        self._changed = False
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"edge {self.url}/admin/traffic, service {self.service} ({self.baseline} / {self.canary})"

    def current(self) -> TrafficSplit:
        data = self._call("GET", None)
        split = self._split(data)
        with self._lock:
            if self._found is None:
                self._found = split
        return split

    def set_canary_percent(self, percent: int) -> TrafficSplit:
        if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
            raise ConfigError(f"canary weight must be an integer percentage 0-100, got {percent!r}")
        if self._found is None:
            self.current()  # remember what was there, for restore()
        split = self._split(self._call("PUT", {"service": self.service, "canary_percent": percent}))
        self._changed = True
        if self.on_change is not None:
            self.on_change(split)
        return split

    def restore(self) -> None:
        """Put back the split found before the first change (nothing to do when unchanged)."""
        with self._lock:
            found, changed = self._found, self._changed
        if found is None or not changed:
            return
        self.set_canary_percent(found.canary_percent)
        self._changed = False

    def _split(self, data: object) -> TrafficSplit:
        entry = data.get(self.service) if isinstance(data, dict) else None
        if not isinstance(entry, dict) or not isinstance(entry.get("canary_percent"), int):
            raise ServiceUnreachable(f"the edge at {self.url} does not route {self.service!r}: {str(data)[:200]}")
        return TrafficSplit(self.service, self.baseline, self.canary, int(entry["canary_percent"]))

    def _call(self, method: str, body: dict[str, object] | None) -> object:
        try:
            resp = httpx.request(method, f"{self.url}/admin/traffic", json=body, headers=self._headers,
                                 timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise ServiceUnreachable(f"edge at {self.url}: {exc}") from None
        if not resp.is_success:
            raise ServiceUnreachable(f"edge refused {method} /admin/traffic: HTTP {resp.status_code} {resp.text[:200]}")
        try:
            return resp.json()
        except ValueError:
            raise ServiceUnreachable(f"edge answered {method} /admin/traffic with no JSON") from None
