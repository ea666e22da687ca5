"""The `cloud-monitoring` metric source: SLIs read from a real deployment's own metrics.

An SLO file names it with `metricSource.type: cloud-monitoring` and a spec:

    filter: metric.type="run.googleapis.com/request_latencies" AND resource.labels.service_name="edge"
    percentile: 95                        # distributions: pNN from the summed buckets
    statistic: sum                        # scalars: sum (default) | mean | max | min
    aligner: ALIGN_DELTA                  # per-series aligner (default ALIGN_DELTA)
    groupBy: [resource.labels.revision_name]   # one check per group (default: one for all)
    minCount: 50                          # events needed for a verdict (default: the run's minimum)
    unit: ms                              # shown with the value
    project: my-project                   # default: --gcp-project / GOOGLE_CLOUD_PROJECT

The time window is the stage's: the one set with `monitoring_window(...)`
around evaluation, else the span of the stage's samples. ListTimeSeries is
asked to align each series over the whole window and sum across series per
group, so one point per group comes back; the source still merges whatever
comes back (several points, several series), so it is right either way.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
import statistics
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from harness._verdicts import Check, Verdict
from harness.slo._registry import Fail, register_metric_source

if TYPE_CHECKING:  # the client library is imported on first use: `harness --help` stays fast
    import pandas as pd
    from google.cloud import monitoring_v3

    from harness.slo._model import SLO, MetricSource, Objective

__all__ = [
    "CloudMonitoringSource",
    "CloudMonitoringSpec",
    "Reading",
    "monitoring_window",
    "parse_cloud_monitoring_spec",
    "read_sli",
]

SPEC_FIELDS = ("filter", "percentile", "statistic", "aligner", "groupBy", "minCount", "unit", "project", "ifNoData")
_STATISTICS = ("sum", "mean", "max", "min")
_ALIGNERS = {"ALIGN_DELTA", "ALIGN_SUM", "ALIGN_RATE", "ALIGN_MEAN", "ALIGN_MAX", "ALIGN_MIN", "ALIGN_NONE"}
_MIN_ALIGNMENT_S = 60  # the API refuses shorter alignment periods
_QUERY_BUDGET_S = 30.0


@dataclass(frozen=True)
class CloudMonitoringSpec:
    """A validated `cloud-monitoring` spec (see the module docstring)."""

    filter: str
    percentile: float | None = None
    statistic: str = "sum"
    aligner: str = "ALIGN_DELTA"
    group_by: tuple[str, ...] = ()
    min_count: int | None = None
    unit: str = ""
    project: str | None = None
    if_no_data: str = "inconclusive"


@dataclass(frozen=True)
class Reading:
    """One group's value over the window and how many events (or points) it rests on."""

    value: float | None
    count: int


@dataclass(frozen=True)
class _Context:
    start: datetime | None
    end: datetime | None
    client: monitoring_v3.MetricServiceClient | None
    project: str | None


_CONTEXT: contextvars.ContextVar[_Context | None] = contextvars.ContextVar("harness_monitoring_window", default=None)


@contextlib.contextmanager
def monitoring_window(
    start: datetime | float | None,
    end: datetime | float | None,
    *,
    client: monitoring_v3.MetricServiceClient | None = None,
    project: str | None = None,
) -> Iterator[None]:
    """Within this block, `cloud-monitoring` SLOs read [start, end] with `client` and `project`.

    ```python
    with monitoring_window(stage_start, stage_end, client=exporter.client, project=exporter.project):
        checks = harness.slo.evaluate(slos, samples)
    ```
    """
    token = _CONTEXT.set(_Context(_when(start), _when(end), client, project))
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def _when(moment: datetime | float | None) -> datetime | None:
    if moment is None or isinstance(moment, datetime):
        return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(float(moment), tz=timezone.utc)


def parse_cloud_monitoring_spec(spec: Mapping[str, Any], fail: Fail) -> CloudMonitoringSpec:
    """Validate a spec; `fail(field, problem)` builds the SLOFileError to raise."""
    unknown = sorted(set(map(str, spec)) - set(SPEC_FIELDS))
    if unknown:
        raise fail(unknown[0], f"unknown field (expected {', '.join(SPEC_FIELDS)})")
    text = spec.get("filter")
    if not isinstance(text, str) or "metric.type" not in text:
        example = 'metric.type="run.googleapis.com/request_count"'
        raise fail("filter", f"required: a Cloud Monitoring filter naming metric.type, e.g. {example}")
    percentile = spec.get("percentile")
    numeric = isinstance(percentile, (int, float)) and not isinstance(percentile, bool)
    if percentile is not None and (not numeric or not 0 < percentile <= 100):
        raise fail("percentile", f"{percentile!r} is not a number in (0, 100]")
    statistic = spec.get("statistic", "sum")
    if statistic not in _STATISTICS:
        raise fail("statistic", f"{statistic!r} is not one of {', '.join(_STATISTICS)}")
    aligner = spec.get("aligner", "ALIGN_DELTA")
    if aligner not in _ALIGNERS:
        raise fail("aligner", f"{aligner!r} is not one of {', '.join(sorted(_ALIGNERS))}")
    group_by = spec.get("groupBy", [])
    labels = ("metric.label", "resource.label")
    if not isinstance(group_by, list) or not all(isinstance(g, str) and g.startswith(labels) for g in group_by):
        raise fail("groupBy", f"{group_by!r} is not a list of metric.labels.X / resource.labels.X fields")
    min_count = spec.get("minCount")
    if min_count is not None and (isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1):
        raise fail("minCount", f"{min_count!r} is not a positive integer")
    for key in ("unit", "project"):
        if key in spec and not isinstance(spec[key], str):
            raise fail(key, f"expected a string, got {spec[key]!r}")
    if_no_data = spec.get("ifNoData", "inconclusive")
    if if_no_data not in ("inconclusive", "skip"):
        raise fail("ifNoData", f"{if_no_data!r} is not one of inconclusive, skip")
    return CloudMonitoringSpec(
        filter=text, percentile=float(percentile) if percentile is not None else None, statistic=statistic,
        aligner=aligner, group_by=tuple(group_by), min_count=min_count, unit=spec.get("unit", ""),
        project=spec.get("project") or None, if_no_data=if_no_data,
    )  # fmt: skip


def read_sli(
    client: monitoring_v3.MetricServiceClient,
    project: str,
    spec: CloudMonitoringSpec,
    start: datetime,
    end: datetime,
) -> dict[tuple[str, ...], Reading]:
    """ListTimeSeries for [start, end] → one `Reading` per group (key: the groupBy values).

    Distributions give a percentile (or the mean) and their event count;
    scalars give `statistic` over the points and the number of points, or,
    for `sum`, the sum as the event count (request counts).
    """
    from google.cloud import monitoring_v3

    from harness.monitoring._export import Budget

    seconds = max(_MIN_ALIGNMENT_S, math.ceil((end - start).total_seconds()))
    aggregation: dict[str, Any] = {}
    if spec.aligner != "ALIGN_NONE":
        aggregation = {
            "alignment_period": timedelta(seconds=seconds),
            "per_series_aligner": getattr(monitoring_v3.Aggregation.Aligner, spec.aligner),
            "cross_series_reducer": monitoring_v3.Aggregation.Reducer.REDUCE_SUM,
            "group_by_fields": list(spec.group_by),
        }
    request = monitoring_v3.ListTimeSeriesRequest(
        name=f"projects/{project}",
        filter=spec.filter,
        interval={"start_time": start, "end_time": end},
        aggregation=aggregation or None,
        view=monitoring_v3.ListTimeSeriesRequest.TimeSeriesView.FULL,
    )
    budget = Budget(_QUERY_BUDGET_S, initial=0.25, maximum=4.0)  # bounds retries and every page
    values: dict[tuple[str, ...], list[Any]] = defaultdict(list)
    for series in budget.call(client.list_time_series, request):
        raw = type(series).pb(series)
        key = tuple(_label(raw, field) for field in spec.group_by)
        values[key].extend(point.value for point in raw.points)
    return {key: _reading(spec, typed) for key, typed in values.items()}


def _label(series: Any, field: str) -> str:
    kind = field.split(".", 1)[0]
    return str(getattr(series, kind).labels.get(field.rsplit(".", 1)[-1], ""))


def _reading(spec: CloudMonitoringSpec, typed: Sequence[Any]) -> Reading:
    from harness.monitoring._distribution import distribution_percentile, merge_distributions

    kinds = {value.WhichOneof("value") for value in typed}
    if kinds == {"distribution_value"}:
        merged = merge_distributions([value.distribution_value for value in typed])
        if spec.percentile is not None:
            value = distribution_percentile(merged, spec.percentile) if merged.count else None
            return Reading(value, int(merged.count))
        return Reading(float(merged.mean) if merged.count else None, int(merged.count))
    numbers = [
        float(getattr(value, which))
        for value in typed
        if (which := value.WhichOneof("value")) in ("int64_value", "double_value")
    ]
    if not numbers:
        return Reading(None, 0)
    if spec.statistic == "sum":
        total = math.fsum(numbers)
        return Reading(total, int(round(total)))
    value = {"mean": statistics.fmean(numbers), "max": max(numbers), "min": min(numbers)}[spec.statistic]
    return Reading(value, len(numbers))


class CloudMonitoringSource:
    """The `cloud-monitoring` metric-source plugin for `harness.slo` (registered on import).

    A problem reading Cloud Monitoring (no project, no credentials, an API
    error, no data) becomes an INCONCLUSIVE check saying why: it never
    passes, and it never crashes the evaluation of the other SLOs.
    """

    def validate(self, spec: Mapping[str, Any], fail: Fail) -> None:
        """Check a spec at SLO load time."""
        parse_cloud_monitoring_spec(spec, fail)

    def evaluate(self, slo: SLO, samples: pd.DataFrame, *, min_samples: int) -> list[Check]:
        """One Check per objective and group, over the stage's window."""
        context = _CONTEXT.get() or _Context(None, None, None, None)
        main = _spec(slo.indicator.source)
        need = main.min_count or min_samples
        start, end = context.start, context.end
        if (start is None or end is None) and not samples.empty:
            start = start or _when(float(samples["ts"].min()))
            end = end or _when(float((samples["ts"] + samples["latency_ms"].fillna(0) / 1000.0).max()))
        project = main.project or context.project or os.environ.get("GOOGLE_CLOUD_PROJECT") or None
        problem = None
        if slo.budgeting_method != "Occurrences":
            problem = f"budgetingMethod {slo.budgeting_method} is not supported by the cloud-monitoring source"
        elif start is None or end is None or end <= start:
            problem = "no time window: no samples and no monitoring_window() around the evaluation"
        elif project is None:
            problem = "no GCP project configured (--gcp-project, GOOGLE_CLOUD_PROJECT or spec.project)"
        if problem is not None:
            return self._unjudged(slo, need, main, problem)
        assert start is not None and end is not None and project is not None
        from harness.monitoring._export import describe_error, make_client

        client, owned = context.client, None
        endpoint = _env_endpoint() if client is None else None  # a bad variable is a ConfigError, not a verdict
        try:
            if client is None:
                client = owned = make_client(endpoint)
            readings = self._readings(slo, client, project, start, end)
        except Exception as exc:  # noqa: BLE001 - any failure is an INCONCLUSIVE check, never a crash
            return self._unjudged(slo, need, main, f"ListTimeSeries failed: {describe_error(exc)}")
        finally:
            if owned is not None:
                owned.transport.close()  # type: ignore[no-untyped-call]
        window = {"start": start.isoformat(), "end": end.isoformat(), "project": project}
        if not readings:
            if main.if_no_data == "skip":
                return []
            readings = {(): Reading(None, 0)}
        return [
            self._check(slo, i, obj, reading, _scope(main.group_by, key), need, main,
                        "" if reading.count else "no data in the window", window)
            for key, reading in sorted(readings.items())
            for i, obj in enumerate(slo.objectives)
        ]  # fmt: skip

    def _unjudged(self, slo: SLO, need: int, spec: CloudMonitoringSpec, why: str) -> list[Check]:
        """One INCONCLUSIVE check per objective, saying why nothing could be judged."""
        empty = Reading(None, 0)
        return [self._check(slo, i, obj, empty, "all", need, spec, why) for i, obj in enumerate(slo.objectives)]

    @staticmethod
    def _readings(
        slo: SLO, client: monitoring_v3.MetricServiceClient, project: str, start: datetime, end: datetime
    ) -> dict[tuple[str, ...], Reading]:
        sli = slo.indicator
        if sli.threshold is not None:
            return read_sli(client, project, _spec(sli.threshold), start, end)
        assert sli.ratio is not None
        total = read_sli(client, project, _spec(sli.ratio.total), start, end)
        part_source = sli.ratio.good or sli.ratio.bad
        assert part_source is not None
        part = read_sli(client, project, _spec(part_source), start, end)
        out = {}
        for key, whole in total.items():
            counted = part.get(key, Reading(0.0, 0)).value or 0.0
            if not whole.value:
                out[key] = Reading(None, 0)
                continue
            fraction = counted / whole.value
            out[key] = Reading(fraction if sli.ratio.good is not None else 1.0 - fraction, whole.count)
        return out

    @staticmethod
    def _check(
        slo: SLO, index: int, obj: Objective, reading: Reading, scope: str, need: int,
        spec: CloudMonitoringSpec, detail: str, window: Mapping[str, str] | None = None,
    ) -> Check:  # fmt: skip
        from harness.slo import compare

        ratio = slo.indicator.ratio is not None
        op, goal = ("gte", obj.target) if ratio else (obj.op, obj.value)
        assert op is not None and goal is not None
        if reading.value is None or math.isnan(reading.value):
            verdict, detail = Verdict.INCONCLUSIVE, detail or "no value"
        elif reading.count < need:
            verdict, detail = Verdict.INCONCLUSIVE, f"{reading.count} events < minimum {need}"
        else:
            verdict = Verdict.PASS if compare(reading.value, op, goal) else Verdict.FAIL
        name = slo.name if len(slo.objectives) == 1 else f"{slo.name}/{obj.display_name or index}"
        return Check(
            name=name, verdict=verdict, value=reading.value, objective=goal, op=op,
            unit="" if ratio else spec.unit, samples=reading.count, scope=scope, kind="slo", detail=detail,
            extra={"source": "cloud-monitoring", "filter": spec.filter, "file": slo.source_file, **(window or {})},
        )  # fmt: skip


def _env_endpoint() -> str | None:
    """XYNERGY_MONITORING_ENDPOINT, validated like the flag (loopback only)."""
    from harness.monitoring._args import loopback_endpoint

    endpoint = os.environ.get("XYNERGY_MONITORING_ENDPOINT") or None
    return loopback_endpoint(endpoint, "XYNERGY_MONITORING_ENDPOINT") if endpoint else None


def _spec(source: MetricSource) -> CloudMonitoringSpec:
    from harness._exceptions import SLOFileError

    return parse_cloud_monitoring_spec(source.spec, lambda f, p: SLOFileError(p, field=f"metricSource.spec.{f}"))


def _scope(group_by: Sequence[str], key: tuple[str, ...]) -> str:
    """`resource.labels.revision_name` = x → `revision=x` (the harness's scope convention)."""
    parts = []
    for field, value in zip(group_by, key, strict=True):
        name = field.rsplit(".", 1)[-1]
        parts.append(f"{'revision' if name == 'revision_name' else name}={value}")
    return ",".join(parts) or "all"


register_metric_source("cloud-monitoring", CloudMonitoringSource())
