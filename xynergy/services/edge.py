"""edge: the public entry. Routes, splits traffic, verifies keys, proxies WebSockets.

``/v1/route…`` → ai-routing-engine, ``/v1/governance/X`` → security-governance
``/v1/X``, ``/v1/runtime…`` → system-runtime (HTTP and WebSocket). CORS
preflights and CORS headers pass through untouched, so the client sees each
upstream's own policy (and a canary's regression of it). ``x-xynergy-revision``
names the upstream revision that served.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, WebSocket
from fastapi.responses import JSONResponse, Response
from prometheus_client import Counter
from pydantic import BaseModel, StrictInt, StrictStr
from starlette.requests import ClientDisconnect
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from xynergy.common.app import ServiceParts, service_app
from xynergy.common.auth import API_KEY_HEADER
from xynergy.common.http import ASGIEndpoint, header, is_preflight
from xynergy.common.observability import Metrics, request_id_var
from xynergy.config import ServiceConfig
from xynergy.services.edge_proxy import HOP_BY_HOP, KeyVerifier, Target, TrafficSplit, Verdict

__all__ = ["create_app", "upstream_for"]

log = logging.getLogger("xynergy.edge")
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]
ROUTE_LABELS = {"ai-routing-engine": "/v1/route", "security-governance": "/v1/governance",
                "system-runtime": "/v1/runtime"}


def upstream_for(path: str) -> tuple[str, str] | None:
    """(service, upstream path) for an edge path, or None when nothing serves it."""
    if path == "/v1/route" or path.startswith("/v1/route/"):
        return "ai-routing-engine", path
    if path.startswith("/v1/governance/"):
        return "security-governance", "/v1/" + path[len("/v1/governance/"):]
    if path == "/v1/runtime" or path.startswith("/v1/runtime/"):
        return "system-runtime", path
    return None


class TrafficUpdate(BaseModel):
    """Strict types: ``true`` is not 1 and ``"10"`` is not 10 (a typo must not move traffic)."""

    service: StrictStr
    canary_percent: StrictInt


def _error(status: int, detail: str, revision: str | None = None) -> JSONResponse:
    headers = {"x-xynergy-revision": revision} if revision else {}
    if status == 503:
        headers["retry-after"] = "1"
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


_DROP_REQUEST = frozenset(h.encode() for h in HOP_BY_HOP | {"x-request-id"})
_DROP_RESPONSE = frozenset(h.encode() for h in HOP_BY_HOP)
_OWS = b" \t"


def _forwardable(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Request headers to send upstream, values without surrounding whitespace.

    RFC 9110 §5.5: leading and trailing whitespace is not part of a field
    value. The server parser keeps a trailing tab that the upstream client
    (h11) refuses to send, which made the edge answer 502 for the client's
    own header.
    """
    return [(k, v.strip(_OWS)) for k, v in headers if k not in _DROP_REQUEST]


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientDisconnect()  # as Request.body() does: nothing is forwarded
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def create_app(config: ServiceConfig) -> FastAPI:
    """Build the edge app."""
    metrics = Metrics(config.service, config.revision, config.region)
    split = TrafficSplit.from_config(config)
    verifier = KeyVerifier(split.baselines.get("security-governance"), config.auth_cache_ttl_s, config.auth_stale_s)
    if verifier.target is None:
        log.warning("no security-governance upstream: keys are checked locally only")
    served = Counter("xynergy_edge_upstream_requests", "Proxied requests by upstream and revision served.",
                     ["upstream", "upstream_revision", "status", "revision"], registry=metrics.registry)
    api = APIRouter()

    async def forward(scope: Scope, receive: Receive, target: Target, path: str) -> Response:
        # Raw scope headers in, raw headers out: no Request/Headers objects per call.
        headers = _forwardable(scope["headers"])
        headers.append((b"x-request-id", request_id_var.get().encode("latin-1")))
        url = httpx.URL(path=path, query=scope["query_string"])
        body = await _read_body(receive)
        try:
            upstream = await target.client.request(scope["method"], url, headers=headers, content=body)
        except httpx.LocalProtocolError:
            # the client's own request cannot be sent on (a control character in a header):
            # its fault, not the upstream's, so it is not counted as an upstream error
            return _error(400, "request headers cannot be forwarded")
        except httpx.TimeoutException:
            served.labels(target.name, target.revision, "504", config.revision).inc()
            return _error(504, f"upstream {target.name} timed out", target.revision)
        except httpx.HTTPError as exc:
            served.labels(target.name, target.revision, "502", config.revision).inc()
            return _error(502, f"upstream {target.name} unreachable: {type(exc).__name__}", target.revision)
        target.revision = upstream.headers.get("x-xynergy-revision", target.revision)
        content = upstream.content
        out = [(b"content-length", str(len(content)).encode())]
        out += [(k.lower(), v) for k, v in upstream.headers.raw if k.lower() not in _DROP_RESPONSE]
        if "x-xynergy-revision" not in upstream.headers:
            out.append((b"x-xynergy-revision", target.revision.encode("latin-1")))
        response = Response(content, status_code=upstream.status_code)
        response.raw_headers = out
        served.labels(target.name, target.revision, str(upstream.status_code), config.revision).inc()
        return response

    async def proxy(scope: Scope, receive: Receive, send: Send) -> None:
        """The hot path, as a raw ASGI endpoint: FastAPI's request/dependency layer cost ~10 % of the edge's CPU."""
        response = await _proxy(scope, receive)
        await response(scope, receive, send)

    async def _proxy(scope: Scope, receive: Receive) -> Response:
        mapped = upstream_for(scope["path"])
        if mapped is None:
            return _error(404, f"no upstream serves {scope['path']}")
        service, path = mapped
        scope["xynergy.route"] = ROUTE_LABELS[service]  # the metrics' route label
        if not is_preflight(scope):
            verdict = await verifier.verify(header(scope, API_KEY_HEADER) or "")
            if verdict == Verdict.INVALID:
                return _error(403, "invalid API key (security-governance)")
            if verdict == Verdict.UNAVAILABLE:
                return _error(503, "cannot verify API key: security-governance unavailable")
        target = split.choose(service)
        if target is None:
            return _error(502, f"no upstream configured for {service}")
        return await forward(scope, receive, target, path)

    api.routes.append(Route("/v1/{rest:path}", ASGIEndpoint(proxy), methods=METHODS))

    @api.websocket("/v1/runtime/ws")
    async def runtime_ws(websocket: WebSocket) -> None:
        verdict = await verifier.verify(websocket.headers.get(API_KEY_HEADER, ""))
        if verdict != Verdict.VALID:
            await websocket.close(code=1008 if verdict == Verdict.INVALID else 1013)
            return
        target = split.choose("system-runtime")
        if target is None:
            await websocket.close(code=1011)
            return
        url = target.url.replace("http://", "ws://", 1).rstrip("/") + "/v1/runtime/ws"
        if websocket.url.query:
            url += "?" + websocket.url.query
        headers = {API_KEY_HEADER: websocket.headers.get(API_KEY_HEADER, ""), "x-request-id": request_id_var.get()}
        try:
            upstream = await connect(url, additional_headers=headers, proxy=None, open_timeout=3)
        except (OSError, WebSocketException, TimeoutError) as exc:
            log.warning("websocket upstream failed", extra={"error": repr(exc)})
            await websocket.close(code=1011)
            return
        revision = upstream.response.headers.get("x-xynergy-revision", target.revision) if upstream.response else target.revision
        await websocket.accept(headers=[(b"x-xynergy-revision", revision.encode())])
        await _relay(websocket, upstream)

    @api.get("/admin/traffic")
    async def get_traffic() -> dict[str, Any]:
        return split.describe()

    @api.put("/admin/traffic")
    async def put_traffic(update: TrafficUpdate) -> JSONResponse:
        try:
            split.set_percent(update.service, update.canary_percent)
        except LookupError as exc:
            return _error(404, str(exc.args[0]))
        except ValueError as exc:
            return _error(422, str(exc))
        log.info("traffic split changed", extra={"upstream": update.service, "canary_percent": update.canary_percent})
        return JSONResponse(split.describe())

    async def readiness() -> tuple[bool, dict[str, Any]]:
        async def probe(target: Target) -> str:
            try:
                response = await target.client.get("/healthz", timeout=1.0)
            except httpx.HTTPError:
                return "down"
            return "ok" if response.status_code == 200 else f"http {response.status_code}"

        baselines = list(split.baselines.values())
        states = await asyncio.gather(*(probe(t) for t in baselines))
        upstreams = {t.name: s for t, s in zip(baselines, states)}
        return all(s == "ok" for s in states), {"upstreams": upstreams}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await asyncio.gather(*(t.client.aclose() for t in split.targets()))

    parts = ServiceParts(router=api, lifespan=lifespan, readiness=readiness,
                         auth_prefixes=("/v1/", "/admin/"), cors_skip_prefixes=("/v1/",))
    app = service_app(config, metrics, parts)
    app.state.split = split
    app.state.verifier = verifier
    return app


async def _relay(websocket: WebSocket, upstream: ClientConnection) -> None:
    """Copy frames both ways until either side ends; then close the other."""

    async def client_to_upstream() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await upstream.send(message["text"])
            elif message.get("bytes") is not None:
                await upstream.send(message["bytes"])

    async def upstream_to_client() -> None:
        async for frame in upstream:
            if isinstance(frame, str):
                await websocket.send_text(frame)
            else:
                await websocket.send_bytes(frame)

    tasks = [asyncio.create_task(client_to_upstream()), asyncio.create_task(upstream_to_client())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await upstream.close()
        with contextlib.suppress(RuntimeError, WebSocketDisconnect, ConnectionClosed, OSError):
            await websocket.close(code=upstream.close_code or 1000, reason=upstream.close_reason or "")
