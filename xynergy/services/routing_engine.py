"""ai-routing-engine: score, pick a tier, answer from cache or from an AI region.

The review's fixes live here: one pooled ``httpx.AsyncClient`` per upstream
with explicit limits and timeouts, a response cache (Redis or in-process),
de-duplication of identical in-flight requests, and a circuit breaker per region
with failover primary → backup and a return to primary once a half-open probe
succeeds. The ``breaker-off`` defect removes the breaker: every request then
tries the primary with its full timeout first, which is what slow failover
looks like.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from prometheus_client import Counter, Gauge
from pydantic import BaseModel, Field

from xynergy.common.app import ServiceParts, service_app
from xynergy.common.clients import UPSTREAM_LIMITS, pooled_client
from xynergy.common.observability import Metrics, request_id_var
from xynergy.config import ServiceConfig
from xynergy.routing import CircuitBreaker, FlightAbandoned, LocalCache, RedisCache, ResponseCache, SingleFlight
from xynergy.routing import BreakerState, cache_key, score_complexity, tier_for

__all__ = ["create_app", "RegionsFailed", "MODELS"]

log = logging.getLogger("xynergy.routing")
MODELS = {"small": "xyn-small-v1", "medium": "xyn-medium-v1", "large": "xyn-large-v1"}


class RouteRequest(BaseModel):
    tenant: str = Field(min_length=1, max_length=64)
    prompt: str = Field(min_length=1, max_length=20_000)
    max_tokens: int | None = Field(default=None, ge=1, le=8000)


class RegionsFailed(Exception):
    """No AI region produced an answer; ``status`` is what the client gets."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


def _client(config: ServiceConfig, name: str, url: str) -> httpx.AsyncClient:
    timeout = httpx.Timeout(config.upstream_timeout_s, connect=min(0.5, config.upstream_timeout_s))
    limits = UPSTREAM_LIMITS
    return pooled_client(url, timeout=timeout, limits=limits, transport=config.transports.get(name))


class Router:
    """Calls the AI regions in order, guarded by their breakers."""

    def __init__(self, config: ServiceConfig, metrics: Metrics) -> None:
        self.config = config
        reg = metrics.registry
        self.model_calls = Counter("xynergy_model_calls", "Model calls that returned an answer.",
                                   ["tier", "region", "revision"], registry=reg)
        self.failovers = Counter("xynergy_failovers", "Requests answered by a region other than the primary.",
                                 ["revision"], registry=reg).labels(config.revision)
        self.upstream_errors = Counter("xynergy_upstream_errors", "Failed calls to an AI region.",
                                       ["region", "kind", "revision"], registry=reg)
        state = Gauge("xynergy_breaker_state", "0 closed, 1 open, 2 half-open.", ["region", "revision"],
                      registry=reg)
        self.regions = [r for r in ("primary", "backup") if f"internal-ai.{r}" in config.upstreams]
        self.clients = {r: _client(config, f"internal-ai.{r}", config.upstreams[f"internal-ai.{r}"])
                        for r in self.regions}

        def changed(region: str, new: BreakerState) -> None:
            state.labels(region, config.revision).set(int(new))
            log.warning("breaker state changed", extra={"region": region, "state": new.name.lower()})

        self.breakers = {
            r: CircuitBreaker(r, failure_rate=config.breaker_failure_rate, window_s=config.breaker_window_s,
                              min_calls=config.breaker_min_calls,
                              base_backoff_s=config.breaker_base_backoff_s,
                              max_backoff_s=config.breaker_max_backoff_s, on_change=changed)
            for r in self.regions
        }
        for r in self.regions:
            state.labels(r, config.revision).set(0)
        self.use_breaker = not config.defects.breaker_off
        self.headers = {"x-api-key": config.api_keys[0]}

    async def _call(self, region: str, tier: str, prompt: str) -> dict[str, Any] | None:
        """One attempt; None on a failure that should move on to the next region."""
        headers = {**self.headers, "x-request-id": request_id_var.get()}
        try:
            response = await self.clients[region].post(
                "/v1/infer", json={"model": MODELS[tier], "prompt": prompt, "tier": tier}, headers=headers)
        except httpx.TimeoutException:
            self.upstream_errors.labels(region, "timeout", self.config.revision).inc()
            return None
        except httpx.HTTPError:
            self.upstream_errors.labels(region, "connect", self.config.revision).inc()
            return None
        if response.status_code >= 500:
            self.upstream_errors.labels(region, f"http_{response.status_code}", self.config.revision).inc()
            return None
        if response.status_code != 200:
            raise RegionsFailed(502, f"internal-ai.{region} answered {response.status_code}")
        return dict(response.json())

    async def infer(self, tier: str, prompt: str) -> dict[str, Any]:
        """Answer from the first region that can; fail over past open breakers and failures."""
        tried = False
        for region in self.regions:
            breaker = self.breakers[region]
            if self.use_breaker and not breaker.allow():
                continue
            tried = True
            verdict = False
            try:
                answer = await self._call(region, tier, prompt)
                verdict = True
            finally:
                if not verdict and self.use_breaker:
                    breaker.abandon()
            if answer is None:
                if self.use_breaker:
                    breaker.record_failure()
                continue
            if self.use_breaker:
                breaker.record_success()
            if region != self.regions[0]:
                self.failovers.inc()
            self.model_calls.labels(tier, str(answer.get("region", region)), self.config.revision).inc()
            return answer
        if not tried:
            raise RegionsFailed(503, "every AI region's circuit breaker is open")
        raise RegionsFailed(502, "every AI region failed")

    async def readiness(self) -> dict[str, str]:
        async def probe(region: str) -> str:
            try:
                response = await self.clients[region].get("/healthz", timeout=1.0)
            except httpx.HTTPError:
                return "down"
            return "ok" if response.status_code == 200 else f"http {response.status_code}"

        states = await asyncio.gather(*(probe(r) for r in self.regions))
        return dict(zip(self.regions, states))

    async def close(self) -> None:
        await asyncio.gather(*(c.aclose() for c in self.clients.values()))


def create_app(config: ServiceConfig) -> FastAPI:
    """Build the ai-routing-engine app."""
    metrics = Metrics(config.service, config.revision, config.region)
    router_ = Router(config, metrics)
    cache: ResponseCache = (
        RedisCache(config.redis_url, ttl_s=config.cache_ttl_s) if config.redis_url
        else LocalCache(config.cache_max_entries, config.cache_ttl_s)
    )
    flights: SingleFlight[dict[str, Any]] = SingleFlight()
    lookups = Counter("xynergy_cache_lookups", "Cache lookups by result.", ["result", "revision"],
                      registry=metrics.registry)
    joins = Counter("xynergy_dedup_joins", "Requests served by joining an identical one in flight.",
                    ["revision"], registry=metrics.registry).labels(config.revision)
    api = APIRouter()

    def answer(body: RouteRequest, score: float, tier: str, result: dict[str, Any], how: str) -> JSONResponse:
        region = str(result.get("region", ""))
        headers = {"x-xynergy-cache": how, "x-xynergy-tier": tier}
        if how != "hit":
            headers["x-xynergy-region"] = region
        content = {"tenant": body.tenant, "tier": tier, "score": score, "model": result.get("model"),
                   "output": result.get("output"), "region": region, "cache": how}
        return JSONResponse(content, headers=headers)

    @api.post("/v1/route")
    async def route(body: RouteRequest) -> JSONResponse:
        score = score_complexity(body.prompt, body.max_tokens)
        tier = tier_for(score)
        key = cache_key(body.tenant, body.prompt, tier)
        try:
            if key not in flights:
                cached = await cache.get(key)
                lookups.labels("hit" if cached else "miss", config.revision).inc()
                if cached is not None:
                    return answer(body, score, tier, cached, "hit")
            try:
                joined = await flights.join(key)
            except FlightAbandoned:
                joined = None  # the leader gave up; this request makes its own call
            if joined is not None:
                joins.inc()
                return answer(body, score, tier, joined, "dedup")

            async def fetch() -> dict[str, Any]:
                result = await router_.infer(tier, body.prompt)
                await cache.set(key, result)
                return result

            return answer(body, score, tier, await flights.lead(key, fetch), "miss")
        except RegionsFailed as exc:
            # still a cost signal: the tier was decided and the cache missed
            headers = {"x-xynergy-cache": "miss", "x-xynergy-tier": tier}
            if exc.status == 503:
                headers["retry-after"] = "1"
            return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=headers)

    @api.get("/v1/route/status")
    async def status() -> dict[str, Any]:
        return {
            "cache": cache.kind, "cache_status": await cache.status(), "in_flight": len(flights),
            "breakers": {r: {"state": b.state.name.lower(), "calls": b.calls, "failures": b.failures,
                             "openings": b.opened_count}
                         for r, b in router_.breakers.items()},
            "breaker_enabled": router_.use_breaker,
        }

    async def readiness() -> tuple[bool, dict[str, Any]]:
        regions = await router_.readiness()
        return any(s == "ok" for s in regions.values()), {"regions": regions, "cache": await cache.status()}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await router_.close()
            await cache.close()

    app = service_app(config, metrics, ServiceParts(router=api, lifespan=lifespan, readiness=readiness))
    app.state.router = router_
    app.state.cache = cache
    app.state.flights = flights
    return app
