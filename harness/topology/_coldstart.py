"""Cold start: spawn → first 200 on `/readyz`, and spawn → first successful real request.

Readiness alone can flatter a service (a lazily built client pays on the first
request), so each service kind also has a *probe*: one real, authenticated
request that must succeed.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

import httpx

__all__ = ["ColdStart", "ColdStartSummary", "Probe", "PROBES", "summarize", "wait_until"]


@dataclass(frozen=True)
class Probe:
    """One real request that proves a service does its job."""

    method: str
    path: str
    json: dict[str, Any] | None = None


#: Per service kind; every one is behind the API key.
PROBES: dict[str, Probe] = {
    "internal-ai-service": Probe("POST", "/v1/infer", {"model": "small", "prompt": "cold start probe"}),
    "ai-routing-engine": Probe("POST", "/v1/route", {"tenant": "coldstart", "prompt": "cold start probe"}),
    "security-governance": Probe("GET", "/v1/policies/coldstart"),
    "system-runtime": Probe("GET", "/v1/runtime/connections"),
    "edge": Probe("POST", "/v1/route", {"tenant": "coldstart", "prompt": "cold start probe"}),
}


@dataclass(frozen=True)
class ColdStart:
    """One start of one instance; durations in seconds from the spawn."""

    instance: str
    pid: int
    spawned_at: float
    ready_s: float
    first_ok_s: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ColdStartSummary:
    """min/median/max over repeated starts of one instance."""

    instance: str
    n: int
    ready_min_s: float
    ready_median_s: float
    ready_max_s: float
    first_ok_min_s: float | None
    first_ok_median_s: float | None
    first_ok_max_s: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(starts: Iterable[ColdStart]) -> list[ColdStartSummary]:
    """Group starts by instance (first-seen order) into min/median/max."""
    groups: dict[str, list[ColdStart]] = {}
    for s in starts:
        groups.setdefault(s.instance, []).append(s)
    out = []
    for name, items in groups.items():
        ready = [s.ready_s for s in items]
        ok = [s.first_ok_s for s in items if s.first_ok_s is not None]
        out.append(
            ColdStartSummary(
                name,
                len(items),
                min(ready),
                statistics.median(ready),
                max(ready),
                min(ok) if ok else None,
                statistics.median(ok) if ok else None,
                max(ok) if ok else None,
            )
        )
    return out


def wait_until(
    check: Callable[[], bool],
    *,
    timeout: float,
    alive: Callable[[], bool] = lambda: True,
    interval: float = 0.02,
) -> float | None:
    """Poll `check` until true; the monotonic time it first held, or None (timeout or death)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return time.monotonic()
        if not alive():
            return None
        time.sleep(interval)
    return None


def http_ok(client: httpx.Client, method: str, url: str, **kw: Any) -> bool:
    """True when the request returns 2xx; any transport error is simply 'not yet'."""
    try:
        return client.request(method, url, **kw).is_success
    except httpx.HTTPError:
        return False
