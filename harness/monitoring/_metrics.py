"""The harness's custom metrics: their descriptors, and checks turned into points.

Every metric is a GAUGE under `custom.googleapis.com/xynergy_harness/`: one
point per check, stamped at the end of the stage (or of the live snapshot)
that produced it. Typed SLI metrics carry a normalised unit (latency in ms,
ratios as fractions, times in seconds, memory in bytes), so one dashboard
chart fits every run; checks that fit none of them (cost, comparisons) land
in `check_value` with their unit as a label. Which metric a check goes to is
decided by its kind and its SLI's query (`_family`), never by its name: an SLO
called `cold-path-latency-p95` is a latency, not a cold start.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from google.api import label_pb2, metric_pb2

from harness._verdicts import Check, CheckKind, Op, Scope, Verdict
from harness.slo._query import sli_type, statistic_of

__all__ = [
    "METRIC_PREFIX",
    "MetricSpec",
    "Point",
    "RunLabels",
    "CATALOGUE",
    "checks_to_points",
    "descriptor_for",
]

METRIC_PREFIX = "custom.googleapis.com/xynergy_harness/"

_COMMON = ("run_id", "run_kind", "stage", "scenario", "revision", "slo", "scope", "phase")
_MAX_LABEL_VALUE = 1024


@dataclass(frozen=True)
class MetricSpec:
    """One custom metric: its short name, value type, unit and label keys."""

    name: str
    value_type: str  # "DOUBLE" or "INT64"
    unit: str
    description: str
    extra_labels: tuple[str, ...] = ()

    @property
    def type(self) -> str:
        """The full metric type, e.g. `custom.googleapis.com/xynergy_harness/latency`."""
        return METRIC_PREFIX + self.name

    @property
    def labels(self) -> tuple[str, ...]:
        """Every label key a point of this metric carries (always all of them)."""
        return _COMMON + self.extra_labels


def _spec(name: str, value_type: str, unit: str, description: str, *extra: str) -> MetricSpec:
    return MetricSpec(name, value_type, unit, description, tuple(extra))


# fmt: off
LATENCY = _spec("latency", "DOUBLE", "ms", "Latency statistic of a stage (label statistic: p95, ...).", "statistic")
ERROR_RATIO = _spec("error_ratio", "DOUBLE", "1", "Fraction of requests that failed (0..1).")
THROUGHPUT = _spec("throughput", "DOUBLE", "1/s", "Requests per second over the stage.")
FAILOVER_TIME = _spec("failover_time", "DOUBLE", "s", "Fault injection to the first sustained healthy window.")
COLD_START = _spec("cold_start", "DOUBLE", "s", "Time from process spawn to the first ready answer.")
MEMORY = _spec("memory", "DOUBLE", "By", "Resident memory of a service.")
CHECK_VALUE = _spec("check_value", "DOUBLE", "1", "Value of any other check (unit in label unit).", "check_kind", "unit")
OBJECTIVE = _spec("objective", "DOUBLE", "1", "Objective a check was judged against (label unit).", "check_kind", "unit")
VERDICT = _spec("verdict", "INT64", "1", "Verdict of a check: 0 pass, 1 fail, 2 inconclusive.", "check_kind")
SAMPLES = _spec("samples", "INT64", "1", "Number of samples a check was judged on.", "check_kind")
# fmt: on

CATALOGUE: tuple[MetricSpec, ...] = (
    LATENCY, ERROR_RATIO, THROUGHPUT, FAILOVER_TIME, COLD_START, MEMORY,
    CHECK_VALUE, OBJECTIVE, VERDICT, SAMPLES,
)  # fmt: skip
_BY_NAME = {spec.name: spec for spec in CATALOGUE}


@dataclass(frozen=True)
class Point:
    """One value of one time series: the unit `write_points` sends."""

    metric: MetricSpec
    value: float
    labels: Mapping[str, str]
    end_time: datetime

    @property
    def series_key(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        """Identity of the time series (metric type + labels) this point belongs to."""
        return self.metric.type, tuple(sorted(self.labels.items()))


@dataclass(frozen=True)
class RunLabels:
    """What every exported point says about the run it came from."""

    run_id: str
    stage: str
    scenario: str
    run_kind: str = "rollout"
    revision: str | None = None
    phase: str = "final"
    extra: Mapping[str, str] = field(default_factory=dict)


def descriptor_for(spec: MetricSpec) -> metric_pb2.MetricDescriptor:
    """The MetricDescriptor to create for `spec` (labels all STRING)."""
    return metric_pb2.MetricDescriptor(
        type=spec.type,
        metric_kind=metric_pb2.MetricDescriptor.MetricKind.GAUGE,
        value_type=metric_pb2.MetricDescriptor.ValueType.Value(spec.value_type),
        unit=spec.unit,
        description=spec.description,
        display_name=f"xynergy harness {spec.name.replace('_', ' ')}",
        labels=[label_pb2.LabelDescriptor(key=key, value_type=label_pb2.LabelDescriptor.STRING) for key in spec.labels],
    )


# Unit normalisation: (family, factor to the family's metric unit).
_TIME = {"ms": 1e-3, "s": 1.0, "sec": 1.0, "seconds": 1.0, "us": 1e-6, "µs": 1e-6, "min": 60.0}
_BYTES = {"b": 1, "by": 1, "bytes": 1, "kib": 2**10, "mib": 2**20, "gib": 2**30, "kb": 1e3, "mb": 1e6, "gb": 1e9}
_RATIO = {"": 1.0, "1": 1.0, "ratio": 1.0, "fraction": 1.0, "%": 0.01, "percent": 0.01}
_RATE = {"rps": 1.0, "1/s": 1.0, "req/s": 1.0, "requests/s": 1.0}


Transform = Callable[[float], float]


def _scaled(factor: float) -> Transform:
    return lambda value: value * factor


def _family(check: Check) -> str | None:
    """Which typed metric a check belongs to, by its kind and SLI type, never its name.

    An explicit `extra["sli"]` wins; then the kind decides (failover, cold
    start, resource); an SLO check is typed by its query (`extra["query"]`,
    `harness.slo._query.sli_type`) or, failing that, by its unit (a time is a
    latency, bytes a memory figure, a rate a throughput). Comparisons, cost
    and load checks fit no typed metric.
    """
    unit = check.unit.strip().lower()
    explicit = str(check.extra.get("sli", "")).lower()
    if explicit:
        return explicit
    if check.kind is CheckKind.FAILOVER:
        return "failover_time"
    if check.kind is CheckKind.COLDSTART:
        return "cold_start"
    if check.kind is CheckKind.RESOURCE:
        return "memory" if unit in _BYTES else None
    if check.kind is not CheckKind.SLO:
        return None
    typed = sli_type(check.extra.get("query"))
    if typed is not None:
        return typed
    if unit in _TIME:
        return "latency"
    if unit in _BYTES:
        return "memory"
    return "throughput" if unit in _RATE else None


def _classify(check: Check) -> tuple[MetricSpec, Transform, dict[str, str]] | None:
    """The typed metric, value transform and extra labels for `check`; None when none fits.

    A ratio judged as "good fraction >= target" (an OpenSLO ratioMetric) of an
    error-ratio SLI is exported as its complement, the error ratio.
    """
    unit = check.unit.strip().lower()
    family = _family(check)
    if family == "failover_time":
        return FAILOVER_TIME, _scaled(_TIME.get(unit, 1.0)), {}
    if family == "cold_start":
        return COLD_START, _scaled(_TIME.get(unit, 1.0)), {}
    if family == "latency":
        statistic = str(check.extra.get("statistic") or statistic_of(check.extra.get("query")) or "value")
        return LATENCY, _scaled(_TIME.get(unit, 1e-3) * 1e3), {"statistic": statistic}
    if family == "memory":
        return MEMORY, _scaled(float(_BYTES.get(unit, 1))), {}
    if family == "error_ratio" and unit in _RATIO:
        factor = _RATIO[unit]
        if check.op in (Op.GT, Op.GTE):  # a good-events fraction: its complement is the error ratio
            return ERROR_RATIO, lambda value: 1.0 - value * factor, {}
        return ERROR_RATIO, _scaled(factor), {}
    if family == "throughput":
        return THROUGHPUT, _scaled(_RATE.get(unit, 1.0)), {}
    return None


def _scope_revision(scope: str) -> str | None:
    """`revision=canary` (possibly among other parts) → `canary` (grammar: `Scope`)."""
    return Scope(scope).revision


def _clip(value: object) -> str:
    return str(value)[:_MAX_LABEL_VALUE]


def checks_to_points(checks: Iterable[Check], run: RunLabels, end_time: datetime) -> list[Point]:
    """Turn checks into points: verdict, samples and objective for each, plus its value.

    The value goes to a typed SLI metric when the check is one (latency,
    error ratio, ...), else to `check_value`. A check without a value (no
    data) still exports its verdict (2, inconclusive) and sample count.
    """
    if end_time.tzinfo is None:
        end_time = end_time.replace(tzinfo=timezone.utc)
    points: list[Point] = []
    for check in checks:
        common = {
            "run_id": run.run_id, "run_kind": run.run_kind, "stage": run.stage, "scenario": run.scenario,
            "revision": _scope_revision(check.scope) or run.revision or "all",
            "slo": check.name, "scope": check.scope or "all", "phase": run.phase,
        }  # fmt: skip
        common = {key: _clip(value) for key, value in common.items()}
        kind = {"check_kind": _clip(check.kind)}
        points.append(Point(VERDICT, float(check.verdict.exit_code), {**common, **kind}, end_time))
        points.append(Point(SAMPLES, float(check.samples), {**common, **kind}, end_time))
        typed = _classify(check)
        transform = typed[1] if typed else _scaled(1.0)
        unit = typed[0].unit if typed else _clip(check.unit or "1")
        if _finite(check.objective):
            objective = transform(float(check.objective))  # type: ignore[arg-type]
            points.append(Point(OBJECTIVE, objective, {**common, **kind, "unit": unit}, end_time))
        if not _finite(check.value):
            continue
        value = float(check.value)  # type: ignore[arg-type]
        if typed is None:
            points.append(Point(CHECK_VALUE, value, {**common, **kind, "unit": unit}, end_time))
        else:
            spec, _, extra = typed
            points.append(Point(spec, transform(value), {**common, **extra}, end_time))
    return points


def _finite(value: float | None) -> bool:
    return value is not None and value == value and value not in (float("inf"), float("-inf"))


def spec_named(name: str) -> MetricSpec:
    """The catalogue entry called `name` (short name or full type)."""
    return _BY_NAME[name.removeprefix(METRIC_PREFIX)]


def verdict_of(value: int) -> Verdict:
    """Inverse of the verdict metric's encoding (0 pass, 1 fail, 2 inconclusive)."""
    return {0: Verdict.PASS, 1: Verdict.FAIL}.get(value, Verdict.INCONCLUSIVE)


def group_by_series(points: Sequence[Point]) -> dict[tuple[str, tuple[tuple[str, str], ...]], Point]:
    """Last point per series (a CreateTimeSeries call must not name a series twice)."""
    return {point.series_key: point for point in points}
