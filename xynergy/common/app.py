"""The shell every service shares: middleware stack, probes, metrics, lifespan.

Layers, outermost first: request context (id, revision, metrics, log) → CORS →
API key → request guard (body size, body timeout, JSON numbers) → limits
(concurrency, timeout) → defects → the service's routes. A request takes an
in-flight slot only once its key is checked and its whole body has arrived, so
neither keyless nor trickling clients can hold slots. An unhandled error is a
500 without details that closes its connection (see ``_internal_error``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from starlette.middleware import Middleware

from xynergy.common.auth import APIKeyMiddleware, KeyStore
from xynergy.common.cors import DEFAULT_ALLOWED_ORIGINS, CORSMiddleware, OriginPolicy
from xynergy.common.faults import DefectMiddleware, MemoryGrower, MemoryWatch
from xynergy.common.guard import RequestGuardMiddleware
from xynergy.common.limits import InFlight, LimitsMiddleware
from xynergy.common.observability import Metrics, RequestContextMiddleware, request_id_var
from xynergy.config import ServiceConfig

__all__ = ["ServiceParts", "service_app", "Readiness"]

log = logging.getLogger("xynergy.service")

Readiness = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]
"""Checks a service's dependencies: (ready, details)."""


@dataclass
class ServiceParts:
    """What a service adds to the shared shell."""

    router: APIRouter
    lifespan: Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]] | None = None
    readiness: Readiness | None = None
    auth_prefixes: tuple[str, ...] = ("/v1/",)
    cors_skip_prefixes: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


def service_app(config: ServiceConfig, metrics: Metrics, parts: ServiceParts) -> FastAPI:
    """Wrap a service's routes in the shared middleware, probes and lifespan."""
    memory = MemoryWatch(config.memory_budget_bytes)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if config.defects.slow_start_s:
            log.warning("slow-start defect: sleeping", extra={"seconds": config.defects.slow_start_s})
            await asyncio.sleep(config.defects.slow_start_s)
        tasks = [asyncio.create_task(memory.run())]
        if config.defects.memory_growth_bytes_per_s:
            cap = max(0, config.memory_budget_bytes - memory.rss) + 16 * 1024**2
            grower = MemoryGrower(config.defects.memory_growth_bytes_per_s, cap)
            app.state.memory_grower = grower
            tasks.append(asyncio.create_task(grower.run()))
        try:
            if parts.lifespan is None:
                log.info("application started", extra={"port": config.port})
                yield
            else:
                async with parts.lifespan(app):
                    log.info("application started", extra={"port": config.port})
                    yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            log.info("stopped")

    counters = InFlight()
    Gauge("xynergy_http_in_flight", "HTTP requests in flight (probes excluded).", ["service", "revision"],
          registry=metrics.registry).labels(config.service, config.revision).set_function(lambda: counters.in_flight)
    policy = OriginPolicy(DEFAULT_ALLOWED_ORIGINS, allow_any=config.defects.cors_wildcard)
    middleware = [
        Middleware(RequestContextMiddleware, metrics=metrics, access_log=config.access_log),
        Middleware(CORSMiddleware, policy=policy, skip_prefixes=parts.cors_skip_prefixes),
        Middleware(APIKeyMiddleware, keys=KeyStore(config.api_keys), prefixes=parts.auth_prefixes),
        Middleware(RequestGuardMiddleware, max_body_bytes=config.max_body_bytes,
                   body_timeout_s=config.body_timeout_s),
        Middleware(LimitsMiddleware, max_concurrency=config.max_concurrency, timeout_s=config.request_timeout_s,
                   counters=counters),
    ]
    if config.defects.latency_s or config.defects.error_ratio:
        middleware.append(Middleware(DefectMiddleware, defects=config.defects))
    app = FastAPI(
        title=f"xynergy {config.service}", lifespan=lifespan, middleware=middleware,
        docs_url=None, redoc_url=None, openapi_url=None, exception_handlers={Exception: _internal_error},
    )
    app.state.config = config
    app.state.metrics = metrics
    app.state.memory = memory

    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": config.service, "revision": config.revision}

    async def readyz() -> JSONResponse:
        ready, details = (True, {}) if parts.readiness is None else await parts.readiness()
        if memory.over_budget:
            ready = False
            details["memory"] = f"rss {memory.rss} > budget {config.memory_budget_bytes}"
        body = {"ready": ready, "service": config.service, "revision": config.revision, **details}
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics_endpoint() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route("/healthz", healthz, methods=["GET"])
    app.add_api_route("/readyz", readyz, methods=["GET"])
    app.add_api_route("/metrics", metrics_endpoint, methods=["GET"])
    app.include_router(parts.router)
    return app


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    """500 for an unhandled error: no traceback to the client, and the connection closes.

    uvicorn closes a connection whose app raised after answering; a client
    that had already pooled it (the edge's upstream pool) would send another
    tenant's request on it and get a 502. ``connection: close`` tells it not
    to pool it.
    """
    return JSONResponse({"detail": "internal error", "request_id": request_id_var.get()}, status_code=500,
                        headers={"connection": "close"})
