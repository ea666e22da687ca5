from __future__ import annotations

from datetime import datetime, timezone

import pytest

from harness._verdicts import Check, Verdict
from harness.monitoring import CATALOGUE, METRIC_PREFIX, RunLabels, checks_to_points
from harness.monitoring._metrics import descriptor_for

END = datetime(2026, 11, 29, 23, 0, tzinfo=timezone.utc)
RUN = RunLabels(run_id="r", stage="gameday", scenario="region-outage", run_kind="gameday")


def _typed(check):
    """The one point of `check` that is not verdict/samples/objective."""
    (point,) = [p for p in checks_to_points([check], RUN, END) if p.metric.name not in ("verdict", "samples", "objective")]
    return point


def test_every_descriptor_is_a_gauge_under_the_harness_prefix_with_at_most_ten_labels():
    for spec in CATALOGUE:
        descriptor = descriptor_for(spec)
        assert descriptor.type.startswith(METRIC_PREFIX) and descriptor.type == spec.type
        assert descriptor.metric_kind == descriptor.MetricKind.GAUGE
        assert 0 < len(descriptor.labels) <= 10  # Cloud Monitoring's limit for custom metrics
        assert all(label.key.islower() for label in descriptor.labels)


def test_failover_time_in_ms_is_exported_in_seconds():
    point = _typed(Check("failover", Verdict.PASS, 4200.0, 30000.0, "lt", unit="ms", kind="failover"))
    assert point.metric.name == "failover_time" and point.value == pytest.approx(4.2)
    (objective,) = [p for p in checks_to_points([Check("failover", Verdict.PASS, 4200.0, 30000.0, "lt", unit="ms", kind="failover")], RUN, END) if p.metric.name == "objective"]
    assert objective.value == pytest.approx(30.0) and objective.labels["unit"] == "s"


def test_cold_start_and_memory_are_recognised_and_normalised():
    assert _typed(Check("cold-start", Verdict.PASS, 1.4, 2.0, "lt", unit="s", kind="coldstart", scope="instance=edge")).metric.name == "cold_start"
    memory = _typed(Check("memory-under-512mib", Verdict.PASS, 300.0, 512.0, "lt", unit="MiB", kind="resource"))
    assert memory.metric.name == "memory" and memory.value == 300.0 * 2**20


def test_latency_statistic_comes_from_the_query_or_is_explicit_never_the_name():
    p99 = Check("api-latency-p50", Verdict.PASS, 0.12, 0.2, "lt", unit="s", extra={"query": "p99(latency_ms)"})
    assert _typed(p99).labels["statistic"] == "p99" and _typed(p99).value == pytest.approx(120.0)
    unnamed = Check("api-latency-p99", Verdict.PASS, 0.12, 0.2, "lt", unit="s")  # no query: a latency by its unit
    assert _typed(unnamed).metric.name == "latency" and _typed(unnamed).labels["statistic"] == "value"
    explicit = Check("slow-route", Verdict.PASS, 40.0, 50.0, "lt", unit="ms", extra={"sli": "latency", "statistic": "median"})
    assert _typed(explicit).labels["statistic"] == "median"


@pytest.mark.parametrize("name", ["cold-path-latency-p95", "failover-route-latency", "cold-start-ish"])
def test_an_slo_check_is_exported_by_its_kind_and_query_not_by_words_in_its_name(name):
    check = Check(name, Verdict.PASS, 80.0, 100.0, "lt", unit="ms", extra={"query": "p95(latency_ms)"})
    point = _typed(check)
    assert point.metric.name == "latency" and point.labels["statistic"] == "p95" and point.value == 80.0


def test_cold_start_and_failover_are_chosen_by_kind_whatever_the_name():
    assert _typed(Check("latency-p95", Verdict.PASS, 1.4, 2.0, "lt", unit="s", kind="coldstart")).metric.name == "cold_start"
    assert _typed(Check("errors", Verdict.PASS, 3.0, 30.0, "lt", unit="s", kind="failover")).metric.name == "failover_time"


def test_an_error_word_in_the_name_does_not_make_an_error_ratio():
    ratio = Check("error-budget-burn", Verdict.PASS, 0.2, 0.5, "lt", unit="", extra={"query": "ratio(latency_ms > 100)"})
    assert _typed(ratio).metric.name == "check_value"


def test_a_good_fraction_error_slo_is_exported_as_its_complement():
    ratio = Check("api-availability", Verdict.PASS, 0.995, 0.99, "gte", unit="", samples=4000, extra={"sli": "error_ratio"})
    points = {p.metric.name: p for p in checks_to_points([ratio], RUN, END)}
    assert points["error_ratio"].value == pytest.approx(0.005)
    assert points["objective"].value == pytest.approx(0.01)


def test_checks_that_fit_no_typed_metric_keep_their_unit_as_a_label():
    cost = Check("cost/per-million", Verdict.FAIL, 12.5, 10.0, "lte", unit="USD", kind="cost", scope="revision=canary")
    point = _typed(cost)
    assert point.metric.name == "check_value" and point.labels["unit"] == "USD" and point.labels["revision"] == "canary"
    assert point.labels["check_kind"] == "cost" and point.labels["run_kind"] == "gameday"


def test_a_check_without_data_still_exports_its_inconclusive_verdict():
    empty = Check("api-latency-p95", Verdict.INCONCLUSIVE, None, 100.0, "lt", unit="ms")
    points = {p.metric.name: p.value for p in checks_to_points([empty], RUN, END)}
    assert points == {"verdict": 2.0, "samples": 0.0, "objective": 100.0}


def test_every_point_carries_exactly_its_descriptor_labels():
    checks = [
        Check("api-latency-p95", Verdict.PASS, 80.0, 100.0, "lt", unit="ms", scope="revision=canary,name=POST /v1/route",
              extra={"query": "p95(latency_ms)"}),
        Check("compare/errors", Verdict.PASS, 0.3, 0.05, "gt", kind="comparison"),
    ]
    for point in checks_to_points(checks, RUN, END):
        assert set(point.labels) == set(point.metric.labels)
        assert point.labels["revision"] in ("canary", "all")
