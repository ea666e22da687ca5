"""Request ids, the revision header, Prometheus metrics and JSON logs.

One ``CollectorRegistry`` per app (not the global one), so several apps can
live in one test process and every series is the app's own.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from contextvars import ContextVar
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.process_collector import ProcessCollector
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xynergy.common.http import header

__all__ = ["Metrics", "RequestContextMiddleware", "JsonFormatter", "request_id_var", "LATENCY_BUCKETS"]

request_id_var: ContextVar[str] = ContextVar("xynergy_request_id", default="")
"""The current request's id, for logs and for propagation to upstreams."""

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
access_logger = logging.getLogger("xynergy.access")


class Metrics:
    """The series every service exports; services add their own to ``registry``."""

    def __init__(self, service: str, revision: str, region: str) -> None:
        self.service, self.revision, self.region = service, revision, region
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        Gauge(
            "xynergy_info", "Which service, revision and region this is.",
            ["service", "revision", "region"], registry=self.registry,
        ).labels(service, revision, region).set(1)
        self.http_requests = Counter(
            "xynergy_http_requests", "HTTP requests answered.",
            ["service", "revision", "route", "method", "status"], registry=self.registry,
        )
        self.http_duration = Histogram(
            "xynergy_http_request_duration_seconds", "Time to answer an HTTP request.",
            ["service", "revision", "route", "method"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )

        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request.

        The children are cached per (route, method, status): ``labels()`` checks
        and joins its arguments under a lock on every call, which showed in the
        profile; the label sets are few (route templates, not paths).
        """
        children = self._children.get((route, method, status))
        if children is None:
            children = (self.http_requests.labels(self.service, self.revision, route, method, str(status)),
                        self.http_duration.labels(self.service, self.revision, route, method))
            if len(self._children) < 1024:
                self._children[(route, method, status)] = children
        children[0].inc()
        children[1].observe(seconds)


def _route_label(scope: Scope) -> str:
    label = scope.get("xynergy.route")  # set by handlers whose template says too little
    if isinstance(label, str):
        return label
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    return scope["path"] if scope["path"] in ("/healthz", "/readyz", "/metrics") else "unmatched"


class RequestContextMiddleware:
    """Outermost layer: request id in and out, revision header, metrics, access log."""

    def __init__(self, app: ASGIApp, metrics: Metrics, access_log: bool = False) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log
        self.revision = metrics.revision.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = header(scope, "x-request-id") or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        start = time.perf_counter()
        status = 0

        async def send_with_context(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["x-request-id"] = request_id
                if "x-xynergy-revision" not in headers:
                    headers.append("x-xynergy-revision", self.metrics.revision)
            await send(message)

        try:
            await self.app(scope, receive, send_with_context)
        except Exception:
            status = status or 500
            raise
        finally:
            request_id_var.reset(token)
            if scope["type"] == "http":
                elapsed = time.perf_counter() - start
                route = _route_label(scope)
                self.metrics.observe(route, scope["method"], status, elapsed)
                if self.access_log:
                    access_logger.info(
                        "request",
                        extra={"request_id": request_id, "method": scope["method"], "path": scope["path"],
                               "status": status, "duration_ms": round(elapsed * 1000, 3)},
                    )


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, service fields, extras."""

    _STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "color_message"}

    def __init__(self, service: str, revision: str, region: str) -> None:
        super().__init__()
        self.static = {"service": service, "revision": revision, "region": region}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **self.static,
        }
        entry.update({k: v for k, v in vars(record).items() if k not in self._STANDARD})
        if "request_id" not in entry and request_id_var.get():
            entry["request_id"] = request_id_var.get()
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)
