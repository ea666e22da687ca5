"""Cold start: spawn → first 200 on `/readyz`, and spawn → first successful real request.

Readiness alone can flatter a service (a lazily built client pays on the first
request), so each service kind also has a *probe*: one real, authenticated
request that must succeed.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from harness._exceptions import ConfigError
from harness._verdicts import Check

__all__ = [
    "ColdStart", "ColdStartSummary", "Probe", "PROBES", "cpu_wait_s", "judge_cold_starts", "measure_cold_starts",
    "summarize", "wait_until",
]


@dataclass(frozen=True)
class Probe:
    """One real request that proves a service does its job.

    `{nonce}` in a string of `json` becomes a fresh value per request, so a
    routing probe is never answered from the (Redis) cache of an earlier start.
    """

    method: str
    path: str
    json: dict[str, Any] | None = None

    def body(self) -> dict[str, Any] | None:
        if self.json is None:
            return None
        nonce = uuid.uuid4().hex
        return {k: v.replace("{nonce}", nonce) if isinstance(v, str) else v for k, v in self.json.items()}


_ROUTE = {"tenant": "coldstart", "prompt": "cold start probe {nonce}"}

#: Per service kind; every one is behind the API key and goes through the whole
#: service (the edge's probe also crosses governance, routing and inference).
PROBES: dict[str, Probe] = {
    "internal-ai-service": Probe("POST", "/v1/infer", {"model": "xyn-small-v1", "prompt": "probe {nonce}"}),
    "ai-routing-engine": Probe("POST", "/v1/route", _ROUTE),
    "security-governance": Probe("GET", "/v1/policies/coldstart"),
    "system-runtime": Probe("GET", "/v1/runtime/connections"),
    "edge": Probe("POST", "/v1/route", _ROUTE),
}


def cpu_wait_s(pid: int) -> float | None:
    """Run-queue wait of every thread of `pid` so far, seconds, from `/proc/PID/task/*/schedstat` (Linux)."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
        return sum(int((task / "schedstat").read_text().split()[1]) for task in tasks) / 1e9
    except (OSError, IndexError, ValueError):
        return None


@dataclass(frozen=True)
class ColdStart:
    """One start of one instance; durations in seconds from the spawn."""

    instance: str
    pid: int
    spawned_at: float
    ready_s: float
    first_ok_s: float | None
    cpu_wait_s: float | None = None
    """Seconds its threads waited on a run queue for a CPU by the time it was ready (None: not measured).

    A start that waited for a CPU the host did not have is slow for reasons
    that are not the revision's; one that slept is (the `slow-start` defect).
    """

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


class _Restartable(Protocol):
    def restart(self, name: str) -> ColdStart: ...


def measure_cold_starts(platform: _Restartable, instances: Iterable[str], repeat: int) -> list[ColdStart]:
    """Restart each instance `repeat` times, one at a time (so starts do not compete for CPU)."""
    names = list(instances)
    return [platform.restart(name) for _ in range(repeat) for name in names]


def judge_cold_starts(
    summaries: Iterable[ColdStartSummary], slo_path: str | Path, *, statistic: str = "max"
) -> dict[str, Check]:
    """Judge each instance's readiness time against the cold-start SLO.

    `statistic` is `max` (every start must meet it; the default) or `median`.
    """
    from harness.slo import judge_measurement, load_slos

    if statistic not in ("max", "median"):
        raise ConfigError(f"must be max or median, got {statistic!r}", source="--judge")
    slos = load_slos(slo_path)
    if len(slos) != 1:
        raise ConfigError(f"expected exactly one SLO, found {len(slos)}", source=str(slo_path))
    checks = {}
    for s in summaries:
        value = s.ready_max_s if statistic == "max" else s.ready_median_s
        ok = "-" if s.first_ok_median_s is None else f"{s.first_ok_median_s:.2f} s"
        checks[s.instance] = judge_measurement(
            slos[0], value, samples=s.n, scope=f"instance={s.instance}", kind="coldstart",
            detail=f"{statistic} of {s.n} starts (min {s.ready_min_s:.2f} s, median {s.ready_median_s:.2f} s, "
            f"max {s.ready_max_s:.2f} s); first successful request median {ok}",
        )
    return checks
