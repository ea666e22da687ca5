from __future__ import annotations

import socket
import time
from datetime import datetime, timezone

import grpc
import pytest

from harness._exceptions import ExportError
from harness._verdicts import Check, Verdict
from harness.monitoring import METRIC_PREFIX, DescriptorCache, Point
from harness.monitoring._metrics import ERROR_RATIO, LATENCY

END = datetime(2026, 11, 29, 23, 0, 0, tzinfo=timezone.utc)

CHECKS = [
    Check("api-latency-p95", Verdict.PASS, 87.5, 100.0, "lt", unit="ms", samples=1200, scope="revision=canary",
          extra={"query": "p95(latency_ms)"}),
    Check("api-error-ratio", Verdict.FAIL, 0.02, 0.01, "lt", unit="", samples=1200, scope="revision=canary",
          extra={"query": "ratio(not ok)"}),
    Check("compare/latency", Verdict.INCONCLUSIVE, None, None, "lte", kind="comparison", samples=12),
]


def _export(exporter, checks=CHECKS, **labels):
    fields = {"run_id": "run-1", "stage": "10", "scenario": "platform", "kind": "rollout", "end_time": END}
    return exporter.export_checks(checks, **{**fields, **labels})


def _by_type(fake):
    out = {}
    for series in fake.stored:
        out.setdefault(series.metric.type.removeprefix(METRIC_PREFIX), []).append(series)
    return out


def test_each_metric_descriptor_is_created_once_however_many_exports(fake, make_exporter):
    cache = DescriptorCache()
    first = make_exporter(descriptors=cache)
    assert _export(first).ok
    created = [r.metric_descriptor.type for r in fake.calls_to("CreateMetricDescriptor")]
    assert len(created) == len(set(created)) == 5  # verdict, samples, objective, latency, error_ratio
    assert _export(first, stage="50").ok
    second = make_exporter(descriptors=cache)  # a new exporter in the same process
    assert _export(second, stage="100").ok
    assert len(fake.calls_to("CreateMetricDescriptor")) == 5
    assert len(fake.calls_to("CreateTimeSeries")) == 3


def test_a_descriptor_that_already_exists_is_not_an_error(fake, make_exporter):
    assert _export(make_exporter()).ok
    again = _export(make_exporter(), stage="50")  # fresh cache: the server answers ALREADY_EXISTS
    assert again.ok and again.descriptors_created == 0 and again.written == again.points


def test_checks_become_points_with_the_right_types_labels_values_and_end_time(fake, make_exporter):
    result = _export(make_exporter(), revision="unused-when-scope-names-one")
    assert result.ok and result.written == 10
    series = _by_type(fake)
    (latency,) = series["latency"]
    assert dict(latency.metric.labels) == {
        "run_id": "run-1", "run_kind": "rollout", "stage": "10", "scenario": "platform", "revision": "canary",
        "slo": "api-latency-p95", "scope": "revision=canary", "phase": "final", "statistic": "p95",
    }  # fmt: skip
    assert latency.points[0].value.double_value == pytest.approx(87.5)
    assert latency.points[0].interval.end_time == END
    assert latency.resource.type == "global" and latency.resource.labels["project_id"] == "test-project"
    (ratio,) = series["error_ratio"]
    assert ratio.points[0].value.double_value == pytest.approx(0.02)
    verdicts = {s.metric.labels["slo"]: s.points[0].value.int64_value for s in series["verdict"]}
    assert verdicts == {"api-latency-p95": 0, "api-error-ratio": 1, "compare/latency": 2}
    assert {s.metric.labels["slo"] for s in series["objective"]} == {"api-latency-p95", "api-error-ratio"}
    assert "check_value" not in series  # the comparison had no value to export
    descriptor = fake.descriptors[METRIC_PREFIX + "latency"]
    assert descriptor.unit == "ms" and {label.key for label in descriptor.labels} == set(latency.metric.labels)


def test_450_points_are_written_in_three_calls_of_at_most_200_series(fake, make_exporter):
    points = [Point(LATENCY if i % 2 else ERROR_RATIO, float(i), _labels(i, LATENCY if i % 2 else ERROR_RATIO), END) for i in range(450)]
    result = make_exporter().write_points(points)
    assert result.ok and result.written == 450
    assert [len(r.time_series) for r in fake.calls_to("CreateTimeSeries")] == [200, 200, 50]
    assert sorted(s.points[0].value.double_value for s in fake.stored) == [float(i) for i in range(450)]


def _labels(i, spec):
    labels = dict.fromkeys(spec.labels, "x")
    labels["run_id"] = f"run-{i}"
    return labels


def test_unavailable_is_retried_with_backoff_until_the_write_succeeds(fake, make_exporter):
    fake.fail("CreateTimeSeries", grpc.StatusCode.UNAVAILABLE, times=3)
    result = _export(make_exporter())
    assert result.ok and result.retries == 3 and result.written == 10
    assert len(fake.calls_to("CreateTimeSeries")) == 4
    assert len(fake.stored) == 10


def test_a_permission_error_is_reported_clearly_and_does_not_fail_the_run(fake, make_exporter):
    fake.fail("CreateMetricDescriptor", grpc.StatusCode.PERMISSION_DENIED, message="monitoring.metricDescriptors.create denied")
    result = _export(make_exporter())
    assert not result.ok and result.written == 0 and result.retries == 0
    assert "PERMISSION_DENIED" in result.message and "metricDescriptors.create denied" in result.message
    assert fake.calls_to("CreateTimeSeries") == []  # no point retrying what cannot be allowed


def test_a_permission_error_raises_export_error_when_export_is_required(fake, make_exporter):
    fake.fail("CreateTimeSeries", grpc.StatusCode.PERMISSION_DENIED)
    with pytest.raises(ExportError, match="PERMISSION_DENIED"):
        _export(make_exporter(require_export=True))


def test_an_unreachable_endpoint_gives_up_within_the_time_budget(make_exporter):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    result = _export(make_exporter(endpoint=f"127.0.0.1:{port}", timeout=1.0))
    elapsed = time.monotonic() - started
    assert not result.ok and "UNAVAILABLE" in result.message
    assert elapsed < 4.0  # budget 1 s; generous bound for a loaded machine


def test_nothing_is_sent_without_a_project(fake, make_exporter):
    exporter = make_exporter(project=None)
    result = _export(exporter)
    assert not exporter.enabled and result.ok and result.skipped and "no GCP project" in result.message
    assert fake.calls == []


def test_a_series_repeated_within_one_export_is_sent_once(fake, make_exporter):
    twice = [CHECKS[0], Check("api-latency-p95", Verdict.FAIL, 120.0, 100.0, "lt", unit="ms", scope="revision=canary",
                              extra={"query": "p95(latency_ms)"})]
    result = _export(make_exporter(), checks=twice)
    assert result.ok and result.warnings and result.written == result.points - 4
    (latency,) = _by_type(fake)["latency"]
    assert latency.points[0].value.double_value == 120.0


def test_export_results_serialise_for_the_run_summary(make_exporter):
    data = _export(make_exporter()).to_dict()
    assert data["ok"] is True and data["written"] == 10 and data["message"].startswith("monitoring export: 10/10")


def test_a_hung_api_cannot_hold_the_run_longer_than_the_time_budget(fake, make_exporter):
    fake.stall("CreateMetricDescriptor", 30.0, times=10)
    started = time.monotonic()
    result = _export(make_exporter(timeout=1.0))
    elapsed = time.monotonic() - started
    assert not result.ok and "DEADLINE_EXCEEDED" in result.message
    assert elapsed < 4.0  # budget 1 s; generous bound for a loaded machine


def test_missing_application_default_credentials_are_reported_not_raised(tmp_path, monkeypatch):
    from harness.monitoring import MonitoringExporter

    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "no-such-key.json"))  # fails before any network
    exporter = MonitoringExporter("test-project")
    result = _export(exporter)
    assert not exporter.enabled and not result.ok and result.skipped
    assert "no usable Google credentials" in result.message and "no-such-key.json" in result.message
    with pytest.raises(ExportError, match="--require-export: no usable Google credentials"):
        MonitoringExporter("test-project", require_export=True)


@pytest.mark.slow
def test_a_retry_late_in_the_budget_gets_only_the_time_that_is_left(fake, make_exporter):
    fake.fail("CreateMetricDescriptor", grpc.StatusCode.UNAVAILABLE, after=1.5)  # slow failure, then…
    fake.stall("CreateMetricDescriptor", 30.0)  # …a retry that hangs
    started = time.monotonic()
    result = _export(make_exporter(timeout=2.0, initial_backoff=0.01, max_backoff=0.02))
    elapsed = time.monotonic() - started
    assert not result.ok and result.retries >= 1
    assert elapsed < 3.2  # budget 2 s; api_core's own deadline logic would allow ~3.5 s and more
