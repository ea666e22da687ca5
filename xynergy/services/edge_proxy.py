"""The edge's moving parts: upstream targets, the traffic split, key verification.

Each upstream (and its canary, when given) gets one pooled ``httpx.AsyncClient``
with explicit limits and timeouts. The split is a per-request weighted choice,
like Cloud Run revision traffic. Keys are verified with security-governance,
positive answers cached briefly; when governance cannot answer and the key is
not known good, the edge fails closed.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from dataclasses import dataclass, field

import httpx

from xynergy.common.clients import UPSTREAM_LIMITS, pooled_client
from xynergy.config import CANARY_SERVICES, ServiceConfig
from xynergy.routing import SingleFlight

__all__ = ["Target", "TrafficSplit", "KeyVerifier", "Verdict", "HOP_BY_HOP"]

HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
    "transfer-encoding", "upgrade", "host", "content-length", "content-encoding", "date", "server",
})


@dataclass
class Target:
    """One upstream revision: its URL, pooled client, and last revision seen."""

    name: str
    url: str
    client: httpx.AsyncClient
    revision: str
    """Label used when the upstream cannot say (no response); updated from its header."""


def _client(config: ServiceConfig, name: str, url: str) -> httpx.AsyncClient:
    timeout = httpx.Timeout(5.0, connect=1.0, pool=2.0)
    limits = UPSTREAM_LIMITS
    return pooled_client(url, timeout=timeout, limits=limits, transport=config.transports.get(name))


@dataclass
class TrafficSplit:
    """Baseline and optional canary per service, and the canary's share in percent."""

    baselines: dict[str, Target] = field(default_factory=dict)
    canaries: dict[str, Target] = field(default_factory=dict)
    percent: dict[str, int] = field(default_factory=dict)
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def from_config(cls, config: ServiceConfig) -> TrafficSplit:
        split = cls()
        for service in CANARY_SERVICES:
            if service in config.upstreams:
                url = config.upstreams[service]
                split.baselines[service] = Target(service, url, _client(config, service, url), "baseline")
            canary = f"{service}@canary"
            if canary in config.upstreams:
                url = config.upstreams[canary]
                split.canaries[service] = Target(canary, url, _client(config, canary, url), "canary")
            split.percent[service] = config.canary_weights.get(service, 0)
        return split

    def choose(self, service: str) -> Target | None:
        """The target for one request, or None when the service has no upstream."""
        canary = self.canaries.get(service)
        if canary is not None and self.rng.random() * 100 < self.percent.get(service, 0):
            return canary
        return self.baselines.get(service)

    def set_percent(self, service: str, percent: int) -> None:
        """Raise ValueError (with a message for the client) on a bad request."""
        if service not in CANARY_SERVICES:
            raise LookupError(f"unknown service {service!r}")
        if not 0 <= percent <= 100:
            raise ValueError("canary_percent must be 0..100")
        if percent and service not in self.canaries:
            raise ValueError(f"{service} has no canary upstream")
        self.percent[service] = percent

    def describe(self) -> dict[str, dict[str, object]]:
        return {
            s: {"canary_percent": self.percent.get(s, 0), "baseline": s in self.baselines,
                "canary": s in self.canaries}
            for s in CANARY_SERVICES
        }

    def targets(self) -> list[Target]:
        return [*self.baselines.values(), *self.canaries.values()]


class Verdict:
    """Outcome of a key verification."""

    VALID, INVALID, UNAVAILABLE = "valid", "invalid", "unavailable"


class KeyVerifier:
    """Asks security-governance about keys; remembers good ones.

    A key verified less than ``ttl_s`` ago is accepted at once. Between
    ``ttl_s`` and ``stale_s`` it is still accepted at once while one request
    re-asks governance in the background (stale-while-revalidate): a 403 then
    forgets it, an answer that does not come keeps it. Why: when every key
    expired together and governance was slow (one hostile request blocked it),
    every client got 503; fail-closed turned into an outage. Unknown keys,
    and keys not verified for ``stale_s``, still wait for governance and fail
    closed.
    """

    def __init__(self, target: Target | None, ttl_s: float, stale_s: float = 60.0) -> None:
        self.target = target
        self.ttl_s = ttl_s
        self.stale_s = max(stale_s, ttl_s)
        self._good: dict[bytes, float] = {}
        """Key digest → when governance last said it is good (monotonic)."""
        self._flights: SingleFlight[str] = SingleFlight()
        self._refreshing: dict[bytes, asyncio.Task[str]] = {}

    async def verify(self, key: str) -> str:
        if self.target is None:
            return Verdict.VALID  # no governance configured: the local key check stands alone
        digest = hashlib.sha256(key.encode()).digest()
        verified = self._good.get(digest)
        if verified is not None:
            age = time.monotonic() - verified
            if age < self.ttl_s:
                return Verdict.VALID
            if age < self.stale_s:
                self._refresh(key, digest)
                return Verdict.VALID
        return await self._ask_once(key, digest)

    async def _ask_once(self, key: str, digest: bytes) -> str:
        flight_key = digest.hex()
        joined = await self._flights.join(flight_key)
        if joined is not None:
            return joined
        return await self._flights.lead(flight_key, lambda: self._ask(key, digest))

    def _refresh(self, key: str, digest: bytes) -> None:
        if digest in self._refreshing:
            return
        task = asyncio.get_running_loop().create_task(self._ask_once(key, digest))
        self._refreshing[digest] = task
        task.add_done_callback(lambda _: self._refreshing.pop(digest, None))

    async def _ask(self, key: str, digest: bytes) -> str:
        assert self.target is not None
        try:
            response = await self.target.client.post("/v1/auth/verify", headers={"x-api-key": key}, timeout=1.0)
        except httpx.HTTPError:
            return Verdict.UNAVAILABLE
        if response.status_code == 200:
            if len(self._good) > 10_000:
                self._good.clear()
            self._good[digest] = time.monotonic()
            return Verdict.VALID
        if response.status_code in (401, 403):
            self._good.pop(digest, None)
            return Verdict.INVALID
        return Verdict.UNAVAILABLE
