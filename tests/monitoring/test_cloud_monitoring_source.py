from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone

import grpc
import numpy as np
import pandas as pd
import pytest
from google.api import distribution_pb2
from google.cloud import monitoring_v3

from harness._exceptions import SLOFileError
from harness._verdicts import Verdict
from harness.monitoring import monitoring_window
from harness.samples import empty_samples
from harness.slo import evaluate, load_slos

START = datetime(2026, 11, 29, 22, 0, 0, tzinfo=timezone.utc)
END = START + timedelta(minutes=3)
SCALE, GROWTH, BUCKETS = 1.0, 1.2, 60  # exponential buckets in ms, like Cloud Run's request_latencies

LATENCY_SLO = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: run-latency-p95}
spec:
  service: ai-routing-engine
  indicator:
    metadata: {name: run-p95}
    spec:
      thresholdMetric:
        metricSource:
          type: cloud-monitoring
          spec:
            filter: metric.type="run.googleapis.com/request_latencies" AND resource.labels.service_name="ai-routing-engine"
            percentile: 95
            groupBy: [resource.labels.revision_name]
            unit: ms
  timeWindow: [{duration: 10m, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{displayName: p95 under 100 ms, op: lt, value: 100}]
"""

ERROR_SLO = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: run-error-rate}
spec:
  service: ai-routing-engine
  indicator:
    metadata: {name: run-non-5xx}
    spec:
      ratioMetric:
        counter: true
        bad:
          metricSource:
            type: cloud-monitoring
            spec:
              filter: metric.type="run.googleapis.com/request_count" AND metric.labels.response_code_class="5xx"
              groupBy: [resource.labels.revision_name]
        total:
          metricSource:
            type: cloud-monitoring
            spec:
              filter: metric.type="run.googleapis.com/request_count"
              groupBy: [resource.labels.revision_name]
  timeWindow: [{duration: 10m, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{displayName: 99 % succeed, target: 0.99}]
"""


def _distribution(values_ms: np.ndarray) -> distribution_pb2.Distribution:
    bounds = SCALE * GROWTH ** np.arange(BUCKETS + 1)
    counts = np.bincount(np.searchsorted(bounds, values_ms, side="right"), minlength=BUCKETS + 2)
    return distribution_pb2.Distribution(
        count=len(values_ms),
        mean=float(values_ms.mean()),
        sum_of_squared_deviation=float(((values_ms - values_ms.mean()) ** 2).sum()),
        bucket_options={"exponential_buckets": {"num_finite_buckets": BUCKETS, "growth_factor": GROWTH, "scale": SCALE}},
        bucket_counts=[int(c) for c in counts],
    )


def _series(metric_type, revision, minute, value, **metric_labels):
    end = START + timedelta(minutes=minute + 1)
    return monitoring_v3.TimeSeries(
        metric={"type": metric_type, "labels": metric_labels},
        resource={"type": "cloud_run_revision", "labels": {"service_name": "ai-routing-engine", "revision_name": revision, "location": "europe-west1"}},
        metric_kind="DELTA",
        points=[{"interval": {"start_time": end - timedelta(minutes=1), "end_time": end}, "value": value}],
    )


@pytest.fixture
def cloud_run(fake):
    """Three minutes of Cloud Run metrics for two revisions: the canary slow and failing."""
    rng = np.random.default_rng(8)
    truth = {"ai-routing-engine-00001-base": rng.uniform(20, 90, 3000), "ai-routing-engine-00002-cana": rng.uniform(40, 160, 3000)}
    codes = {"ai-routing-engine-00001-base": (998, 2), "ai-routing-engine-00002-cana": (950, 50)}
    for revision, values in truth.items():
        for minute, chunk in enumerate(np.array_split(values, 3)):
            fake.add_series(_series("run.googleapis.com/request_latencies", revision, minute, {"distribution_value": _distribution(chunk)}, response_code_class="2xx"))
        ok, failed = codes[revision]
        for minute in range(3):
            fake.add_series(_series("run.googleapis.com/request_count", revision, minute, {"int64_value": ok // 3 + (minute < ok % 3)}, response_code_class="2xx"))
            fake.add_series(_series("run.googleapis.com/request_count", revision, minute, {"int64_value": failed // 3 + (minute < failed % 3)}, response_code_class="5xx"))
    # Outside the window: must be ignored.
    fake.add_series(_series("run.googleapis.com/request_count", "ai-routing-engine-00002-cana", 30, {"int64_value": 10**6}, response_code_class="5xx"))
    return truth


def _slos(tmp_path, *texts):
    path = tmp_path / "cloud.yaml"
    path.write_text("---\n".join(textwrap.dedent(t) for t in texts))
    return load_slos(path)


def _by_scope(checks):
    return {c.scope.removeprefix("revision=ai-routing-engine-"): c for c in checks}


def test_latency_distributions_become_a_p95_verdict_per_revision(tmp_path, make_exporter, cloud_run):
    exporter = make_exporter()
    with monitoring_window(START, END, client=exporter.client, project="test-project"):
        checks = _by_scope(evaluate(_slos(tmp_path, LATENCY_SLO), empty_samples()))
    base, canary = checks["00001-base"], checks["00002-cana"]
    assert base.verdict is Verdict.PASS and canary.verdict is Verdict.FAIL
    assert base.samples == canary.samples == 3000 and base.unit == "ms" and base.op == "lt"
    for check, values in ((base, cloud_run["ai-routing-engine-00001-base"]), (canary, cloud_run["ai-routing-engine-00002-cana"])):
        exact = float(np.percentile(values, 95))
        assert abs(check.value - exact) <= exact * (GROWTH - 1)  # within one bucket's width
    assert canary.extra["source"] == "cloud-monitoring" and canary.extra["project"] == "test-project"


def test_request_counts_become_an_error_ratio_verdict_per_revision(tmp_path, make_exporter, cloud_run):
    exporter = make_exporter()
    with monitoring_window(START, END, client=exporter.client, project="test-project"):
        checks = _by_scope(evaluate(_slos(tmp_path, ERROR_SLO), empty_samples()))
    assert checks["00001-base"].verdict is Verdict.PASS and checks["00001-base"].value == pytest.approx(0.998)
    assert checks["00002-cana"].verdict is Verdict.FAIL and checks["00002-cana"].value == pytest.approx(0.95)
    assert checks["00002-cana"].samples == 1000 and checks["00002-cana"].objective == 0.99


def test_the_query_asks_for_the_stage_window_aligned_and_summed_per_revision(tmp_path, make_exporter, fake, cloud_run):
    exporter = make_exporter()
    with monitoring_window(START, END, client=exporter.client, project="test-project"):
        evaluate(_slos(tmp_path, LATENCY_SLO), empty_samples())
    (request,) = fake.calls_to("ListTimeSeries")
    assert request.name == "projects/test-project"
    assert request.filter.startswith('metric.type="run.googleapis.com/request_latencies"')
    assert request.interval.start_time == START and request.interval.end_time == END
    assert request.aggregation.alignment_period == timedelta(minutes=3)
    assert request.aggregation.per_series_aligner == monitoring_v3.Aggregation.Aligner.ALIGN_DELTA
    assert request.aggregation.cross_series_reducer == monitoring_v3.Aggregation.Reducer.REDUCE_SUM
    assert list(request.aggregation.group_by_fields) == ["resource.labels.revision_name"]


def test_without_a_window_the_span_of_the_stage_samples_is_read(tmp_path, fake, cloud_run, monkeypatch):
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "test-project")
    monkeypatch.setenv("XYNERGY_MONITORING_ENDPOINT", fake.endpoint)
    samples = empty_samples()
    stamps = [START.timestamp() + 1, END.timestamp() - 1]
    samples = pd.concat([samples, pd.DataFrame({"ts": stamps, "latency_ms": [5.0, 5.0]})], ignore_index=True)
    checks = evaluate(_slos(tmp_path, ERROR_SLO), samples)
    assert {c.verdict for c in checks} == {Verdict.PASS, Verdict.FAIL}
    request = fake.calls_to("ListTimeSeries")[0]
    assert request.interval.start_time.timestamp() == pytest.approx(stamps[0])


def test_a_permission_error_makes_the_checks_inconclusive_and_says_why(tmp_path, make_exporter, fake, cloud_run):
    fake.fail("ListTimeSeries", grpc.StatusCode.PERMISSION_DENIED, message="monitoring.timeSeries.list denied")
    exporter = make_exporter()
    with monitoring_window(START, END, client=exporter.client, project="test-project"):
        (check,) = evaluate(_slos(tmp_path, LATENCY_SLO), empty_samples())
    assert check.verdict is Verdict.INCONCLUSIVE and check.value is None
    assert "PERMISSION_DENIED" in check.detail and "timeSeries.list denied" in check.detail


def test_without_a_project_nothing_is_queried_and_the_check_is_inconclusive(tmp_path, make_exporter, fake, monkeypatch):
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    with monitoring_window(START, END, client=make_exporter().client):
        (check,) = evaluate(_slos(tmp_path, LATENCY_SLO), empty_samples())
    assert check.verdict is Verdict.INCONCLUSIVE and "no GCP project" in check.detail
    assert fake.calls == []


def test_too_few_events_are_inconclusive(tmp_path, make_exporter, cloud_run):
    strict = LATENCY_SLO.replace("unit: ms", "unit: ms\n            minCount: 5000")
    exporter = make_exporter()
    with monitoring_window(START, END, client=exporter.client, project="test-project"):
        checks = evaluate(_slos(tmp_path, strict), empty_samples())
    assert {c.verdict for c in checks} == {Verdict.INCONCLUSIVE}
    assert all("3000 events < minimum 5000" in c.detail for c in checks)


def test_a_bad_spec_names_the_file_and_field(tmp_path):
    bad = LATENCY_SLO.replace("percentile: 95", "percentile: 150")
    with pytest.raises(SLOFileError, match=r"cloud\.yaml: .*metricSource\.spec\.percentile: 150 is not a number in \(0, 100\]"):
        _slos(tmp_path, bad)


def test_slo_files_load_the_source_on_demand_without_importing_locust(tmp_path):
    path = tmp_path / "cloud.yaml"
    path.write_text(textwrap.dedent(LATENCY_SLO))
    code = (
        "import sys; from harness.slo import load_slos; "
        f"(slo,) = load_slos({str(path)!r}); "
        "print(slo.indicator.source.type, 'harness.monitoring' in sys.modules, 'locust' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["cloud-monitoring", "True", "False"]
