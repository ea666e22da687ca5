"""Write harness results to Cloud Monitoring as custom metrics.

Export is a side channel: a run must never fail or stall because Cloud
Monitoring is slow, down or refuses us. So every export has a total time
budget (retries with exponential backoff and full jitter included), and its
outcome is an `ExportResult` the caller records; only a caller that asks for
it (`require_export=True`, the CLI's `--require-export`) gets an `ExportError`.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from types import TracebackType
from typing import TYPE_CHECKING, Any

import grpc
from google.api_core import exceptions as gexc
from google.api_core import retry as gretry
from google.auth import credentials as gauth
from google.auth import exceptions as gauth_exc
from google.cloud import monitoring_v3
from google.cloud.monitoring_v3.services.metric_service.transports import MetricServiceGrpcTransport
from google.protobuf import timestamp_pb2

from harness._exceptions import ExportError
from harness._verdicts import Check
from harness.monitoring._metrics import MetricSpec, Point, RunLabels, checks_to_points, descriptor_for, group_by_series

if TYPE_CHECKING:
    from harness.monitoring._live import LiveExport

__all__ = [
    "MAX_SERIES_PER_CALL",
    "Budget",
    "DescriptorCache",
    "ExportResult",
    "MonitoringExporter",
    "describe_error",
    "make_client",
]

log = logging.getLogger("harness.monitoring")

MAX_SERIES_PER_CALL = 200
"""CreateTimeSeries accepts at most 200 time series per request."""

_TRANSIENT = (
    gexc.ServiceUnavailable,
    gexc.DeadlineExceeded,
    gexc.Aborted,
    gexc.ResourceExhausted,
    gexc.InternalServerError,
)
_FATAL = (gexc.PermissionDenied, gexc.Unauthenticated, gexc.NotFound)
"""Errors that no later call can fix: stop the export at once, don't spend the budget."""


@dataclass(frozen=True)
class ExportResult:
    """What one export did. `ok` is False when anything failed; `errors` says what, one line each."""

    ok: bool
    skipped: bool = False
    points: int = 0
    written: int = 0
    calls: int = 0
    retries: int = 0
    descriptors_created: int = 0
    elapsed_s: float = 0.0
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        """One line for a terminal or a report."""
        if self.skipped:
            reasons = self.errors + self.warnings
            return f"monitoring export skipped: {reasons[0] if reasons else 'disabled'}"
        head = f"monitoring export: {self.written}/{self.points} points in {self.calls} call(s), {self.elapsed_s:.1f}s"
        if self.retries:
            head += f", {self.retries} retr{'y' if self.retries == 1 else 'ies'}"
        if self.ok:
            return head
        more = f" (+{len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        return f"{head}; FAILED: {self.errors[0] if self.errors else 'unknown error'}{more}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (for `summary.json`)."""
        data = asdict(self)
        data["errors"] = list(self.errors)
        data["warnings"] = list(self.warnings)
        data["message"] = self.message
        return data


class DescriptorCache:
    """Which metric descriptors this process already created, per endpoint and project.

    Shared by every exporter in the process by default, so a rollout that
    builds an exporter per stage still creates each descriptor once.
    """

    def __init__(self) -> None:
        self._done: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()

    def missing(self, where: tuple[str, str], specs: Iterable[MetricSpec]) -> list[MetricSpec]:
        """Specs not yet created at `where` (endpoint, project), in order, once each."""
        with self._lock:
            seen: dict[str, MetricSpec] = {}
            for spec in specs:
                if (*where, spec.type) not in self._done:
                    seen.setdefault(spec.type, spec)
            return list(seen.values())

    def mark(self, where: tuple[str, str], spec: MetricSpec) -> None:
        """Remember that `spec` exists at `where`."""
        with self._lock:
            self._done.add((*where, spec.type))


_PROCESS_DESCRIPTORS = DescriptorCache()


class Budget:
    """The total time one export (or one SLI query) may take, shared by all its calls, retries and pages."""

    def __init__(self, seconds: float, initial: float, maximum: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.initial, self.maximum = initial, maximum
        self.retries = 0

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def call(self, method: Callable[..., Any], request: Any) -> Any:
        left = self.left()
        if left <= 0.05:
            raise gexc.DeadlineExceeded("time budget used up")  # type: ignore[no-untyped-call]
        retry = gretry.Retry(
            predicate=gretry.if_exception_type(*_TRANSIENT),
            initial=self.initial,
            maximum=self.maximum,
            multiplier=2.0,
            timeout=left,
            on_error=self._count,
        )
        return method(request=request, retry=retry, timeout=self._attempt_timeout)

    def _attempt_timeout(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Give each attempt exactly the time left in the budget.

        A plain float would become api_core's TimeToDeadlineTimeout, which
        hands an attempt the *whole* timeout again once less than 1 s is left.
        """

        @functools.wraps(func)
        def attempt(*args: Any, **kwargs: Any) -> Any:
            kwargs["timeout"] = max(0.01, self.left())
            return func(*args, **kwargs)

        return attempt

    def _count(self, exc: Exception) -> None:
        self.retries += 1
        log.info("Cloud Monitoring: transient error, retrying: %s", describe_error(exc))


def _gives_up(exc: BaseException) -> bool:
    """True when no further call of this export can succeed: auth/project errors, or the budget is spent."""
    return isinstance(exc, (*_FATAL, gexc.RetryError)) or (
        isinstance(exc, gexc.DeadlineExceeded) and "budget" in str(exc.message)
    )


def describe_error(exc: BaseException) -> str:
    """`PERMISSION_DENIED: the caller does not have permission` from any error we meet."""
    if isinstance(exc, gexc.RetryError) and exc.cause is not None:
        return f"gave up after retries: {describe_error(exc.cause)}"
    if isinstance(exc, gexc.GoogleAPICallError):
        code = exc.grpc_status_code.name if exc.grpc_status_code is not None else type(exc).__name__
        return f"{code}: {_short(str(exc.message))}"
    return f"{type(exc).__name__}: {_short(str(exc))}"


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def make_client(
    endpoint: str | None = None, credentials: gauth.Credentials | None = None
) -> monitoring_v3.MetricServiceClient:
    """A MetricServiceClient: Google with `credentials` or ADC, or `endpoint` over an insecure channel, anonymously."""
    if endpoint is None:
        return monitoring_v3.MetricServiceClient(credentials=credentials)
    anonymous = gauth.AnonymousCredentials()  # type: ignore[no-untyped-call]
    channel = grpc.insecure_channel(endpoint)
    transport = MetricServiceGrpcTransport(host=endpoint, credentials=anonymous, channel=channel)
    return monitoring_v3.MetricServiceClient(transport=transport)


def _timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment.astimezone(timezone.utc))
    return stamp


def _as_datetime(moment: datetime | float) -> datetime:
    if isinstance(moment, datetime):
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(float(moment), tz=timezone.utc)


class MonitoringExporter:
    """Export checks (or raw points) to Cloud Monitoring as custom metrics.

    **Parameters:**
    * **project** - GCP project id; `None` disables export (nothing is sent).
    * **endpoint** - `HOST:PORT` of an emulator or test server on loopback:
      an insecure channel, no credentials. `None` → monitoring.googleapis.com
      with `credentials` or Application Default Credentials.
    * **timeout** - total seconds one export may take, retries included.
    * **require_export** - raise `ExportError` instead of returning a failed result.

    ```python
    with MonitoringExporter("my-project") as exporter:
        result = exporter.export_checks(checks, run_id="r1", stage="10", scenario="platform",
                                        kind="rollout", end_time=time.time())
        print(result.message)
    ```
    """

    def __init__(
        self,
        project: str | None,
        *,
        endpoint: str | None = None,
        credentials: gauth.Credentials | None = None,
        timeout: float = 15.0,
        require_export: bool = False,
        batch_size: int = MAX_SERIES_PER_CALL,
        initial_backoff: float = 0.25,
        max_backoff: float = 4.0,
        descriptors: DescriptorCache | None = None,
    ) -> None:
        if not 1 <= batch_size <= MAX_SERIES_PER_CALL:
            raise ValueError(f"batch_size must be 1..{MAX_SERIES_PER_CALL}, got {batch_size}")
        self.project = project or None
        self.endpoint = endpoint
        self.require_export = require_export
        self._timeout = timeout
        self._batch_size = batch_size
        self._backoff = (initial_backoff, max_backoff)
        self._descriptors = descriptors or _PROCESS_DESCRIPTORS
        self._client: monitoring_v3.MetricServiceClient | None = None
        self._init_error: str | None = None
        self._closed = False
        if self.project is None:
            return
        try:
            self._client = make_client(endpoint, credentials)
        except gauth_exc.GoogleAuthError as exc:
            self._init_error = f"no usable Google credentials ({exc})"
            log.warning("monitoring export disabled: %s", self._init_error)
            if require_export:
                raise ExportError(f"--require-export: {self._init_error}") from None

    @property
    def enabled(self) -> bool:
        """True when a project is configured and a client could be built."""
        return self._client is not None

    @property
    def timeout(self) -> float:
        """Total seconds one export may take, retries included."""
        return self._timeout

    def live(
        self, snapshot: Callable[[], Sequence[Check]], *, interval: float, run_id: str, stage: str, scenario: str,
        kind: str = "rollout",
    ) -> LiveExport:
        """A `LiveExport` (context manager) exporting `snapshot()` every `interval` seconds."""
        from harness.monitoring._live import LiveExport

        return LiveExport(self, snapshot, interval=interval, run_id=run_id, stage=stage, scenario=scenario, kind=kind)

    @property
    def client(self) -> monitoring_v3.MetricServiceClient | None:
        """The underlying client (shared with the `cloud-monitoring` metric source)."""
        return self._client

    def export_checks(
        self,
        checks: Sequence[Check],
        *,
        run_id: str,
        stage: str,
        scenario: str,
        kind: str = "rollout",
        end_time: datetime | float,
        revision: str | None = None,
        phase: str = "final",
        require_export: bool | None = None,
    ) -> ExportResult:
        """Export every check of a stage (or game day) as points stamped `end_time`.

        `kind` is the run kind (`rollout`, `gameday`); `phase` is `final`
        for a stage's verdict and `live` for snapshots taken while it runs.
        """
        labels = RunLabels(
            run_id=run_id, stage=str(stage), scenario=scenario, run_kind=kind, revision=revision, phase=phase
        )
        points = checks_to_points(checks, labels, _as_datetime(end_time))
        return self.write_points(points, require_export=require_export)

    def write_points(self, points: Sequence[Point], *, require_export: bool | None = None) -> ExportResult:
        """Create missing descriptors, then write `points` in batches of ≤ 200 series."""
        require = self.require_export if require_export is None else require_export
        if self._client is None:
            reason = self._init_error or (
                "exporter closed"
                if self._closed
                else "no GCP project configured (--gcp-project / GOOGLE_CLOUD_PROJECT)"
            )
            failed = self._init_error is not None or self._closed
            result = ExportResult(
                ok=not failed, skipped=True, points=len(points),
                errors=(reason,) if failed else (), warnings=() if failed else (reason,),
            )  # fmt: skip
        else:
            result = self._write(self._client, points)
        if not result.ok:
            log.warning("%s", result.message)
            if require:
                raise ExportError(f"--require-export: {result.message}")
        else:
            log.info("%s", result.message)
        return result

    def _write(self, client: monitoring_v3.MetricServiceClient, points: Sequence[Point]) -> ExportResult:
        started = time.monotonic()
        budget = Budget(self._timeout, *self._backoff)
        errors: list[str] = []
        warnings: list[str] = []
        calls = created = written = 0
        unique = list(group_by_series(points).values())
        if len(unique) < len(points):
            warnings.append(f"{len(points) - len(unique)} point(s) repeated a series in one export; kept the last")
        fatal = False
        where = (self.endpoint or "monitoring.googleapis.com", self.project or "")
        for spec in self._descriptors.missing(where, (p.metric for p in unique)):
            try:
                calls += 1
                request = {"name": self._name, "metric_descriptor": descriptor_for(spec)}
                budget.call(client.create_metric_descriptor, request)
                created += 1
            except gexc.AlreadyExists:
                pass
            except Exception as exc:  # noqa: BLE001 - any failure is reported, never raised mid-run
                errors.append(f"creating descriptor {spec.type}: {describe_error(exc)}")
                if _gives_up(exc):
                    fatal = True
                    break
                continue
            self._descriptors.mark(where, spec)
        for start in range(0, len(unique), self._batch_size) if not fatal else ():
            batch = unique[start : start + self._batch_size]
            try:
                calls += 1
                series = [self._series(p) for p in batch]
                budget.call(client.create_time_series, {"name": self._name, "time_series": series})
                written += len(batch)
            except Exception as exc:  # noqa: BLE001
                errors.append(f"writing {len(batch)} series: {describe_error(exc)}")
                if _gives_up(exc):
                    break
        return ExportResult(
            ok=not errors and written == len(unique),
            points=len(points),
            written=written,
            calls=calls,
            retries=budget.retries,
            descriptors_created=created,
            elapsed_s=round(time.monotonic() - started, 3),
            errors=tuple(errors),
            warnings=tuple(warnings),
        )

    @property
    def _name(self) -> str:
        return f"projects/{self.project}"

    def _series(self, point: Point) -> monitoring_v3.TimeSeries:
        if point.metric.value_type == "INT64":
            value: dict[str, float | int] = {"int64_value": int(round(point.value))}
        else:
            value = {"double_value": point.value}
        return monitoring_v3.TimeSeries(
            metric={"type": point.metric.type, "labels": dict(point.labels)},
            resource={"type": "global", "labels": {"project_id": self.project or ""}},
            points=[{"interval": {"end_time": _timestamp(point.end_time)}, "value": value}],
        )

    def close(self) -> None:
        """Close the gRPC channel (idempotent)."""
        client, self._client = self._client, None
        self._closed = True
        if client is not None:
            client.transport.close()  # type: ignore[no-untyped-call]

    def __enter__(self) -> MonitoringExporter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

