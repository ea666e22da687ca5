"""system-runtime: a WebSocket status stream whose registry never leaks.

The review found connections left in the registry when clients vanished. Here
every connection is removed in one ``finally`` that every exit path runs:
normal close, abrupt drop (the receive side sees the disconnect), a failed
send, and server shutdown (cancellation).
"""

from __future__ import annotations

import asyncio
import itertools
import time

from fastapi import APIRouter, FastAPI, WebSocket, WebSocketDisconnect
from prometheus_client import Counter, Gauge

from xynergy.common.app import ServiceParts, service_app
from xynergy.common.observability import Metrics
from xynergy.config import ServiceConfig

__all__ = ["create_app", "ConnectionRegistry", "INTERVAL_RULE"]


class ConnectionRegistry:
    """Live WebSocket connections by id."""

    def __init__(self) -> None:
        self._live: dict[int, WebSocket] = {}
        self._ids = itertools.count(1)

    def __len__(self) -> int:
        return len(self._live)

    def add(self, websocket: WebSocket) -> int:
        conn_id = next(self._ids)
        self._live[conn_id] = websocket
        return conn_id

    def discard(self, conn_id: int) -> None:
        self._live.pop(conn_id, None)


INTERVAL_RULE = "interval must be a number of seconds from 0.01 to 60"


def _interval(raw: str | None, default: float) -> float | None:
    """The status interval a client asked for; None when it is not a usable number."""
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if 0.01 <= value <= 60 else None  # NaN fails both comparisons


def create_app(config: ServiceConfig) -> FastAPI:
    """Build the system-runtime app."""
    metrics = Metrics(config.service, config.revision, config.region)
    registry = ConnectionRegistry()
    Gauge("xynergy_ws_connections", "Live WebSocket connections.", ["revision"],
          registry=metrics.registry).labels(config.revision).set_function(lambda: len(registry))
    closed = Counter("xynergy_ws_closed", "WebSocket connections ended, by how.", ["how", "revision"],
                     registry=metrics.registry)
    api = APIRouter()

    async def stream(websocket: WebSocket, conn_id: int, interval: float) -> None:
        for seq in itertools.count():
            await websocket.send_json({
                "type": "status", "seq": seq, "ts": time.time(), "service": config.service,
                "revision": config.revision, "connection": conn_id, "connections": len(registry),
            })
            await asyncio.sleep(interval)

    async def drain(websocket: WebSocket) -> None:
        """Read (and ignore) client frames, so a close or a dropped link is noticed at once."""
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))

    @api.websocket("/v1/runtime/ws")
    async def runtime_ws(websocket: WebSocket) -> None:
        interval = _interval(websocket.query_params.get("interval"), config.status_interval_s)
        await websocket.accept(headers=[(b"x-xynergy-revision", config.revision.encode())])
        if interval is None:
            await websocket.close(code=1008, reason=INTERVAL_RULE)
            closed.labels("bad-request", config.revision).inc()
            return
        conn_id = registry.add(websocket)
        how = "error"
        tasks = [asyncio.create_task(stream(websocket, conn_id, interval)),
                 asyncio.create_task(drain(websocket))]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            exc = next(iter(done)).exception()
            how = "client" if isinstance(exc, WebSocketDisconnect) else "send-error"
        except asyncio.CancelledError:
            how = "shutdown"
            raise
        finally:
            registry.discard(conn_id)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            closed.labels(how, config.revision).inc()

    @api.get("/v1/runtime/connections")
    async def connections() -> dict[str, int]:
        return {"connections": len(registry)}

    @api.get("/v1/runtime/status")
    async def status() -> dict[str, object]:
        return {"service": config.service, "revision": config.revision, "region": config.region,
                "connections": len(registry)}

    app = service_app(config, metrics, ServiceParts(router=api))
    app.state.connections = registry
    return app
