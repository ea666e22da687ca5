"""A local MetricService: the real gRPC wire protocol, an in-memory store.

Tests and dry runs point the real `MetricServiceClient` at it
(`--monitoring-endpoint 127.0.0.1:PORT`), so everything above the network —
request building, batching, retries, paging, response parsing — is the code
that runs against Google. It enforces the API limits the exporter must
respect (≤ 200 series per call, one point per series, no series twice in a
call, points in order) and can be told to fail the next calls of a method.

It implements CreateMetricDescriptor, CreateTimeSeries and ListTimeSeries
with a filter subset: `AND`-joined equalities on `metric.type`,
`resource.type`, `metric.labels.K` and `resource.labels.K`. Aggregation:
ALIGN_NONE / ALIGN_DELTA / ALIGN_SUM, and REDUCE_NONE / REDUCE_SUM with
`group_by_fields` — the shapes the `cloud-monitoring` source sends.
Anything else is refused with INVALID_ARGUMENT naming what is unsupported.
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import grpc
from google.api import metric_pb2
from google.cloud.monitoring_v3 import Aggregation, ListTimeSeriesResponse, TimeSeries
from google.cloud.monitoring_v3.types import metric_service
from google.protobuf import empty_pb2

from harness.monitoring._distribution import merge_distributions

__all__ = ["FakeMetricService"]

_SERVICE = "google.monitoring.v3.MetricService"
_TERM = re.compile(r'^\s*([a-z_.]+[a-zA-Z0-9_]*)\s*=\s*"([^"]*)"\s*$')
_MAX_SERIES = 200


class _Abort(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code


def _invalid(message: str) -> _Abort:
    return _Abort(grpc.StatusCode.INVALID_ARGUMENT, message)


@dataclass
class _Fault:
    code: grpc.StatusCode | None  # None: stall, then answer normally
    times: int
    message: str
    stall_s: float = 0.0


def _key(series: TimeSeries) -> tuple[Any, ...]:
    metric = TimeSeries.pb(series).metric
    resource = TimeSeries.pb(series).resource
    return (metric.type, tuple(sorted(metric.labels.items())), resource.type, tuple(sorted(resource.labels.items())))


class FakeMetricService:
    """An in-process MetricService gRPC server bound to 127.0.0.1 (port 0 → any free port).

    ```python
    with FakeMetricService() as fake:
        exporter = MonitoringExporter("p", endpoint=fake.endpoint)
        fake.fail("CreateTimeSeries", grpc.StatusCode.UNAVAILABLE, times=2)
    ```
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, on_call: Callable[[str, Any], None] | None = None
    ) -> None:
        self._address = (host, port)
        self._on_call = on_call
        self._lock = threading.Lock()
        self._server: grpc.Server | None = None
        self._faults: dict[str, list[_Fault]] = defaultdict(list)
        self._stopping = threading.Event()
        self._last_end: dict[tuple[Any, ...], float] = {}
        self.port = 0
        self.calls: list[tuple[str, Any]] = []
        """Every request received, in order, as (method, request message)."""
        self.descriptors: dict[str, metric_pb2.MetricDescriptor] = {}
        """Created metric descriptors by type."""
        self.stored: list[TimeSeries] = []
        """Every time series written or added, one point each (what ListTimeSeries reads)."""

    # --- lifecycle -------------------------------------------------------
    @property
    def endpoint(self) -> str:
        """`HOST:PORT` for `--monitoring-endpoint`."""
        return f"{self._address[0]}:{self.port}"

    def start(self) -> FakeMetricService:
        """Start serving on a thread pool; returns self."""
        handlers = {
            name: self._unary(name, handler, request_type)
            for name, handler, request_type in (
                ("CreateMetricDescriptor", self._create_descriptor, metric_service.CreateMetricDescriptorRequest),
                ("CreateTimeSeries", self._create_time_series, metric_service.CreateTimeSeriesRequest),
                ("ListTimeSeries", self._list_time_series, metric_service.ListTimeSeriesRequest),
            )
        }
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="fake-monitoring"))
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(_SERVICE, handlers),))
        self.port = server.add_insecure_port(f"{self._address[0]}:{self._address[1]}")
        self._stopping.clear()
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        """Stop serving (idempotent); in-flight calls are cancelled."""
        server, self._server = self._server, None
        self._stopping.set()  # end any stalled call
        if server is not None:
            server.stop(grace=None).wait(5)

    def __enter__(self) -> FakeMetricService:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- test controls ---------------------------------------------------
    def fail(
        self, method: str, code: grpc.StatusCode, *, times: int = 1, message: str = "injected by the fake",
        after: float = 0.0,
    ) -> None:  # fmt: skip
        """Make the next `times` calls of `method` (e.g. "CreateTimeSeries") fail with `code`, `after` seconds."""
        with self._lock:
            self._faults[method].append(_Fault(code, times, message, stall_s=after))

    def stall(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Make the next `times` calls of `method` wait `seconds` before answering (a slow or hung API)."""
        with self._lock:
            self._faults[method].append(_Fault(None, times, "", stall_s=seconds))

    def calls_to(self, method: str) -> list[Any]:
        """Requests received by `method`, in order."""
        with self._lock:
            return [request for name, request in self.calls if name == method]

    def add_series(self, *series: TimeSeries) -> None:
        """Store series (one or more points each) for ListTimeSeries to serve."""
        with self._lock:
            for item in series:
                for point in item.points:
                    self.stored.append(TimeSeries(metric=item.metric, resource=item.resource,
                                                  metric_kind=item.metric_kind, value_type=item.value_type,
                                                  points=[point]))  # fmt: skip

    # --- the service -----------------------------------------------------
    def _unary(self, name: str, handler: Callable[[Any], Any], request_type: Any) -> grpc.RpcMethodHandler:
        def serve(request: Any, context: grpc.ServicerContext) -> Any:
            with self._lock:
                self.calls.append((name, request))
                queue = self._faults.get(name)
                fault = queue[0] if queue else None
                if fault is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        queue.pop(0)  # type: ignore[union-attr]
            if self._on_call is not None:
                self._on_call(name, request)
            if fault is not None and fault.stall_s:
                self._stopping.wait(fault.stall_s)
            if fault is not None and fault.code is not None:
                context.abort(fault.code, fault.message)
            try:
                if not re.fullmatch(r"projects/[a-z0-9.:-]+", request.name):
                    raise _invalid(f"name must be projects/PROJECT_ID, got {request.name!r}")
                return handler(request)
            except _Abort as exc:
                context.abort(exc.code, str(exc))

        return grpc.unary_unary_rpc_method_handler(
            serve, request_deserializer=request_type.deserialize, response_serializer=_serialize
        )

    def _create_descriptor(self, request: metric_service.CreateMetricDescriptorRequest) -> metric_pb2.MetricDescriptor:
        descriptor = request.metric_descriptor
        if not descriptor.type.startswith(("custom.googleapis.com/", "external.googleapis.com/")):
            raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, f"not a user-defined metric type: {descriptor.type!r}")
        with self._lock:
            if descriptor.type in self.descriptors:
                raise _Abort(grpc.StatusCode.ALREADY_EXISTS, f"metric descriptor {descriptor.type} exists")
            self.descriptors[descriptor.type] = descriptor
        return descriptor

    def _create_time_series(self, request: metric_service.CreateTimeSeriesRequest) -> empty_pb2.Empty:
        if not 1 <= len(request.time_series) <= _MAX_SERIES:
            raise _invalid(f"between 1 and {_MAX_SERIES} time series per request, got {len(request.time_series)}")
        seen: set[tuple[Any, ...]] = set()
        for series in request.time_series:
            self._validate(series)
            key = _key(series)
            if key in seen:
                raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, f"time series {key[0]} appears twice in one request")
            seen.add(key)
        with self._lock:
            for series in request.time_series:
                end = series.points[0].interval.end_time.timestamp()
                if self._last_end.get(_key(series), float("-inf")) >= end:
                    raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, "Points must be written in order")
            for series in request.time_series:
                self._last_end[_key(series)] = series.points[0].interval.end_time.timestamp()
                self.stored.append(series)
        return empty_pb2.Empty()

    def _validate(self, series: TimeSeries) -> None:
        if not series.metric.type or not series.resource.type:
            raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, "metric.type and resource.type are required")
        if len(series.points) != 1:
            raise _invalid(f"exactly one point per time series, got {len(series.points)}")
        interval = TimeSeries.pb(series).points[0].interval
        if not interval.HasField("end_time"):
            raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, "point interval has no end_time")
        descriptor = self.descriptors.get(series.metric.type)
        if descriptor is None:
            return
        if descriptor.metric_kind == metric_pb2.MetricDescriptor.MetricKind.GAUGE and interval.HasField("start_time"):
            if interval.start_time != interval.end_time:
                raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, "a GAUGE point's start_time must equal its end_time")
        unknown = set(series.metric.labels) - {label.key for label in descriptor.labels}
        if unknown:
            raise _invalid(f"labels {sorted(unknown)} not in descriptor {descriptor.type}")
        field = TimeSeries.pb(series).points[0].value.WhichOneof("value")
        wanted = {1: "bool_value", 2: "int64_value", 3: "double_value", 4: "string_value", 5: "distribution_value"}
        if wanted.get(descriptor.value_type) != field:
            raise _invalid(f"{descriptor.type} takes {wanted.get(descriptor.value_type)}, got {field}")

    def _list_time_series(self, request: metric_service.ListTimeSeriesRequest) -> ListTimeSeriesResponse:
        predicates = _parse_filter(request.filter)
        start = request.interval.start_time.timestamp() if "start_time" in request.interval else None
        if "end_time" not in request.interval:
            raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, "interval.end_time is required")
        end = request.interval.end_time.timestamp()
        with self._lock:
            stored = list(self.stored)
        chosen = []
        for item in stored:
            at = item.points[0].interval.end_time.timestamp()
            if (start is None or start <= at) and at <= end and all(p(item) for p in predicates):
                chosen.append(item)
        series = _aggregate(chosen, request.aggregation, request.interval) if "aggregation" in request else chosen
        offset = int(request.page_token or 0)
        size = request.page_size or len(series) or 1
        page = series[offset : offset + size]
        token = str(offset + size) if offset + size < len(series) else ""
        return ListTimeSeriesResponse(time_series=page, next_page_token=token)


def _serialize(message: Any) -> bytes:
    """Raw protobuf messages and proto-plus wrappers alike."""
    data = message.SerializeToString() if hasattr(message, "SerializeToString") else type(message).serialize(message)
    return bytes(data)


def _parse_filter(text: str) -> list[Callable[[TimeSeries], bool]]:
    """`metric.type = "x" AND resource.labels.k = "v"` → predicates; anything else is refused."""
    if not text.strip():
        raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, "filter is required")
    predicates: list[Callable[[TimeSeries], bool]] = []
    for term in re.split(r"\s+AND\s+", text.strip()):
        match = _TERM.match(term)
        if match is None:
            raise _invalid(f"the fake MetricService does not support filter term {term!r}")
        predicates.append(_predicate(match.group(1), match.group(2)))
    return predicates


def _predicate(field: str, want: str) -> Callable[[TimeSeries], bool]:
    parts = field.split(".")
    if field in ("metric.type", "resource.type"):
        return lambda s: getattr(s, parts[0]).type == want
    if len(parts) == 3 and parts[0] in ("metric", "resource") and parts[1] in ("label", "labels"):
        return lambda s: getattr(s, parts[0]).labels.get(parts[2]) == want
    raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, f"the fake MetricService does not support filter field {field!r}")


def _label(series: TimeSeries, field: str) -> str:
    kind, _, key = field.split(".", 2)
    return str(getattr(series, kind).labels.get(key, ""))


def _aggregate(series: list[TimeSeries], aggregation: Aggregation, interval: Any) -> list[TimeSeries]:
    """ALIGN_DELTA/ALIGN_SUM over the whole interval, then REDUCE_SUM by `group_by_fields`."""
    A, R = Aggregation.Aligner, Aggregation.Reducer
    period = aggregation.alignment_period.total_seconds() if aggregation.alignment_period else 0
    if aggregation.per_series_aligner not in (A.ALIGN_NONE, A.ALIGN_DELTA, A.ALIGN_SUM):
        raise _invalid(f"the fake does not implement {aggregation.per_series_aligner.name}")
    if aggregation.cross_series_reducer not in (R.REDUCE_NONE, R.REDUCE_SUM):
        raise _invalid(f"the fake does not implement {aggregation.cross_series_reducer.name}")
    if aggregation.per_series_aligner == A.ALIGN_NONE:
        if aggregation.cross_series_reducer != R.REDUCE_NONE:
            raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, "a cross-series reducer needs a per-series aligner")
        return series
    if period < 60:
        raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, "alignment_period must be at least 60 seconds")
    reduce = aggregation.cross_series_reducer == R.REDUCE_SUM
    groups: dict[tuple[Any, ...], list[TimeSeries]] = defaultdict(list)
    for item in series:
        groups[tuple(_label(item, f) for f in aggregation.group_by_fields) if reduce else _key(item)].append(item)
    out = []
    for members in groups.values():
        head = members[0]
        kept: dict[str, dict[str, str]] = {"metric": {}, "resource": {}}
        if reduce:
            for name in aggregation.group_by_fields:
                kept[name.split(".", 1)[0]][name.rsplit(".", 1)[-1]] = _label(head, name)
        else:
            kept = {"metric": dict(head.metric.labels), "resource": dict(head.resource.labels)}
        out.append(TimeSeries(
            metric={"type": head.metric.type, "labels": kept["metric"]},
            resource={"type": head.resource.type, "labels": kept["resource"]},
            metric_kind=head.metric_kind, value_type=head.value_type,
            points=[{"interval": interval, "value": _sum(members)}],
        ))  # fmt: skip
    return out


def _sum(members: list[TimeSeries]) -> dict[str, Any]:
    values = [TimeSeries.pb(m).points[0].value for m in members]
    which = values[0].WhichOneof("value")
    if which == "distribution_value":
        return {"distribution_value": merge_distributions([v.distribution_value for v in values])}
    if which == "int64_value":
        return {"int64_value": sum(v.int64_value for v in values)}
    return {"double_value": sum(v.double_value for v in values)}
