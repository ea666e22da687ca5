"""Judging SLOs over samples and measured values: exact, per revision, never passing on too little data."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from harness._verdicts import Check, Verdict
from harness.samples import COLUMNS, rows_to_batch
from harness.slo import SLO, evaluate, judge_measurement, load_slos, parse_slo_documents, register_metric_source

SLOS = {s.name: s for s in load_slos(Path(__file__).resolve().parents[2] / "slos")}


def frame(latencies: list[float], *, revision: str = "baseline", ok: list[bool] | None = None,
          name: str = "GET /", error_kind: str = "") -> pd.DataFrame:
    oks = ok or [True] * len(latencies)
    rows = [(1000.0 + i * 0.01, 1000.0 + i * 0.01, name, "GET", 200 if good else 503, good,
             "" if good else (error_kind or "http_503"), lat, lat, 10, revision, "", "local")
            for i, (lat, good) in enumerate(zip(latencies, oks, strict=True))]
    return rows_to_batch(rows).to_pandas()


def only(checks: list[Check], name: str) -> Check:
    [check] = [c for c in checks if c.name == name]
    return check


def test_p95_is_the_nearest_rank_sample_and_judged_on_its_interval() -> None:
    just_below = frame([10.0] * 950 + [99.999] * 50)  # p95 = the 950th value = 10; upper bound 99.999
    on_the_line = frame([10.0] * 940 + [100.0] * 60)  # p95 = 100, but the interval reaches down to 10
    below = only(evaluate([SLOS["latency-p95"]], just_below), "latency-p95")
    on = only(evaluate([SLOS["latency-p95"]], on_the_line), "latency-p95")
    assert (below.verdict, below.value) == (Verdict.PASS, 10.0)
    assert below.interval is not None and below.interval[1] < 100.0 and below.confidence is not None
    assert (on.verdict, on.value, on.objective, on.op, on.unit) == (Verdict.INCONCLUSIVE, 100.0, 100.0, "lt", "ms")
    assert on.samples_needed is not None and on.samples_needed > 1000


def test_the_p95_of_57_requests_cannot_fail_from_its_3_worst() -> None:
    """The issue's false rollback: p95 of 57 is the 3rd-worst request, 458 ms; it proves nothing."""
    check = only(evaluate([SLOS["latency-p95"]], frame([40.0 + i for i in range(54)] + [458.0, 470.0, 900.0])), "latency-p95")
    assert check.value == 458.0
    assert check.verdict is Verdict.INCONCLUSIVE
    assert check.interval is not None and check.interval[1] == math.inf  # no upper bound from 57 samples
    assert "needs more data" in check.detail


def test_a_clear_latency_regression_fails_on_a_hundred_requests() -> None:
    check = only(evaluate([SLOS["latency-p95"]], frame([300.0 + i for i in range(100)])), "latency-p95")
    assert check.verdict is Verdict.FAIL
    assert check.interval is not None and check.interval[0] >= 100.0


def test_fewer_samples_than_the_minimum_is_inconclusive_but_reports_the_value() -> None:
    check = only(evaluate([SLOS["latency-p95"]], frame([5.0] * 10), min_samples=30), "latency-p95")
    assert (check.verdict, check.value, check.samples) == (Verdict.INCONCLUSIVE, 5.0, 10)
    assert check.samples_needed is not None and check.samples_needed > 10
    many_fast = only(evaluate([SLOS["latency-p95"]], frame([5.0] * 400), min_samples=500), "latency-p95")
    assert many_fast.verdict is Verdict.INCONCLUSIVE and "minimum 500" in many_fast.detail


def test_no_samples_at_all_is_inconclusive_never_a_pass() -> None:
    checks = evaluate([SLOS["latency-p95"], SLOS["error-ratio"]], frame([]))
    assert [c.verdict for c in checks] == [Verdict.INCONCLUSIVE, Verdict.INCONCLUSIVE]


def test_each_revision_is_judged_on_its_own_samples() -> None:
    both = pd.concat([frame([20.0] * 500, revision="baseline"), frame([150.0] * 500, revision="canary")])
    checks = {c.scope: c for c in evaluate([SLOS["latency-p95"]], both)}
    assert checks["revision=baseline"].verdict == Verdict.PASS
    assert checks["revision=canary"].verdict == Verdict.FAIL
    assert checks["revision=canary"].extra["group"] == {"revision": "canary"}


def test_an_error_ratio_is_judged_on_its_confidence_sequence() -> None:
    one_in_100 = only(evaluate([SLOS["error-ratio"]], frame([5.0] * 100, ok=[False] + [True] * 99)), "error-ratio")
    assert (one_in_100.verdict, one_in_100.value, one_in_100.op, one_in_100.objective) == (
        Verdict.INCONCLUSIVE, 0.01, "lt", 0.01)  # fmt: skip
    assert one_in_100.interval is not None and one_in_100.interval[0] < 0.01 < one_in_100.interval[1]
    clean = only(evaluate([SLOS["error-ratio"]], frame([5.0] * 3000)), "error-ratio")
    assert clean.verdict is Verdict.PASS and clean.interval is not None and clean.interval[1] < 0.01
    broken = only(evaluate([SLOS["error-ratio"]], frame([5.0] * 200, ok=[False, True] * 100)), "error-ratio")
    assert broken.verdict is Verdict.FAIL and broken.interval is not None and broken.interval[0] > 0.01


def test_an_openslo_ratio_metric_is_good_over_total_against_the_target() -> None:
    doc = {
        "apiVersion": "openslo/v1", "kind": "SLO", "metadata": {"name": "success"},
        "spec": {"service": "s", "budgetingMethod": "Occurrences", "timeWindow": [{"duration": "5m"}],
                 "indicator": {"spec": {"ratioMetric": {
                     "good": {"metricSource": {"type": "harness", "spec": {"query": "count(ok and latency_ms < 100)"}}},
                     "total": {"metricSource": {"type": "harness", "spec": {"query": "count", "filter": {"name": "GET /"}}}}}}},
                 "objectives": [{"target": 0.9}]},
    }  # fmt: skip
    [slo] = parse_slo_documents([("r.yaml", doc)])
    data = pd.concat([frame([50.0] * 80 + [500.0] * 20), frame([500.0] * 10, name="other")])
    [check] = evaluate([slo], data, min_samples=5)
    assert (check.value, check.objective, check.op, check.samples) == (0.8, 0.9, "gte", 100)
    assert check.verdict is Verdict.INCONCLUSIVE  # 80 of 100 is not yet provably under 90 %
    data = pd.concat([frame([50.0] * 600 + [500.0] * 400)])
    [check] = evaluate([slo], data, min_samples=5)
    assert check.verdict is Verdict.FAIL and check.interval is not None and check.interval[1] < 0.9


def test_the_security_slo_is_skipped_without_security_samples_and_fails_on_one() -> None:
    assert evaluate([SLOS["security-failures"]], frame([5.0] * 50)) == []
    checks = frame([5.0] * 3, ok=[True, False, True], name="security: cors evil origin", error_kind="security")
    [check] = evaluate([SLOS["security-failures"]], checks)
    assert (check.verdict, check.value, check.samples) == (Verdict.FAIL, 1.0, 3)


def test_measurement_slos_are_not_judged_from_samples_but_by_judge_measurement() -> None:
    assert evaluate([SLOS["cold-start"], SLOS["failover"], SLOS["memory"]], frame([5.0] * 50)) == []
    assert judge_measurement(SLOS["cold-start"], 2.0).verdict == Verdict.PASS  # within 2 s: lte
    assert judge_measurement(SLOS["cold-start"], 2.01, samples=5, scope="instance=edge").verdict == Verdict.FAIL
    assert judge_measurement(SLOS["failover"], 30.0, samples=300).verdict == Verdict.FAIL  # strictly under 30 s
    check = judge_measurement(SLOS["memory"], 300.0, samples=60, kind="resource")
    assert (check.verdict, check.unit, check.kind, check.samples) == (Verdict.PASS, "MiB", "resource", 60)
    assert judge_measurement(SLOS["failover"], math.nan).verdict == Verdict.INCONCLUSIVE
    assert judge_measurement(SLOS["failover"], None).verdict == Verdict.INCONCLUSIVE


def test_one_cold_start_is_labelled_and_fails_only_far_beyond_the_objective() -> None:
    busy_host = judge_measurement(SLOS["cold-start"], 3.3, kind="coldstart")  # the healthy start
    assert busy_host.verdict is Verdict.INCONCLUSIVE and "1 observation" in busy_host.detail
    slow_start_defect = judge_measurement(SLOS["cold-start"], 5.6, kind="coldstart")
    assert slow_start_defect.verdict is Verdict.FAIL and "1 observation" in slow_start_defect.detail
    assert "1 observation" in judge_measurement(SLOS["cold-start"], 1.2).detail


def _slo(spec: Mapping[str, Any], objective: Mapping[str, Any], method: str = "Occurrences") -> SLO:
    doc = {
        "apiVersion": "openslo/v1", "kind": "SLO", "metadata": {"name": "t"},
        "spec": {"service": "s", "budgetingMethod": method, "timeWindow": [{"duration": "5m"}],
                 "indicator": {"spec": {"thresholdMetric": {"metricSource": {"type": "harness", "spec": dict(spec)}}}},
                 "objectives": [dict(objective)]},
    }  # fmt: skip
    [slo] = parse_slo_documents([("t.yaml", doc)])
    return slo


def test_filters_narrow_to_a_request_group_and_group_by_splits_per_group() -> None:
    data = pd.concat([frame([200.0] * 100, name="POST /v1/route"), frame([5.0] * 40, name="GET /healthz")])
    slo = _slo({"query": "p95(latency_ms)", "filter": {"name": "POST /v1/*"}}, {"op": "lt", "value": 100})
    [check] = evaluate([slo], data)
    assert (check.verdict, check.samples) == (Verdict.FAIL, 100)
    per_group = _slo({"query": "max(latency_ms)", "groupBy": ["name"]}, {"op": "lt", "value": 100})
    verdicts = {c.scope: c.verdict for c in evaluate([per_group], data)}
    assert verdicts == {"name=GET /healthz": Verdict.PASS, "name=POST /v1/route": Verdict.FAIL}


def test_ratio_queries_give_the_good_ratio_under_a_threshold() -> None:
    slo = _slo({"query": "ratio(latency_ms <= 100)", "groupBy": []}, {"op": "gte", "value": 0.95})
    [check] = evaluate([slo], frame([50.0] * 960 + [500.0] * 40))
    assert (check.verdict, check.value, check.scope) == (Verdict.INCONCLUSIVE, 0.96, "all")
    [check] = evaluate([slo], frame([50.0] * 9900 + [500.0] * 100))
    assert (check.verdict, check.value) == (Verdict.PASS, 0.99)


def test_timeslices_judge_the_fraction_of_good_slices() -> None:
    slo = _slo({"query": "p95(latency_ms)", "groupBy": []},
               {"op": "lt", "value": 100, "target": 0.75, "timeSliceWindow": "1m"}, method="Timeslices")
    fast, slow = frame([10.0] * 40), frame([300.0] * 40)
    slow["ts"] += 60.0  # the second minute is slow
    slow["intended_ts"] += 60.0
    [check] = evaluate([slo], pd.concat([fast, slow]))
    assert (check.verdict, check.value, check.objective) == (Verdict.FAIL, 0.5, 0.75)


def test_a_registered_metric_source_type_is_validated_and_evaluated_by_its_plugin() -> None:
    seen: list[str] = []

    class Fixed:
        def validate(self, spec: Mapping[str, Any], fail: Any) -> None:
            if "value" not in spec:
                raise fail("value", "required")

        def evaluate(self, slo: SLO, samples: pd.DataFrame, *, min_samples: int) -> list[Check]:
            seen.append(slo.name)
            return [judge_measurement(slo, float(slo.indicator.source.spec["value"]))]

    register_metric_source("test-fixed", Fixed())
    doc = {
        "apiVersion": "openslo/v1", "kind": "SLO", "metadata": {"name": "fixed"},
        "spec": {"service": "s", "budgetingMethod": "Occurrences", "timeWindow": [{"duration": "5m"}],
                 "indicator": {"spec": {"thresholdMetric": {"metricSource": {"type": "test-fixed", "spec": {"value": 3}}}}},
                 "objectives": [{"op": "lt", "value": 5}]},
    }  # fmt: skip
    [slo] = parse_slo_documents([("f.yaml", doc)])
    assert [c.verdict for c in evaluate([slo], frame([]))] == [Verdict.PASS]
    assert seen == ["fixed"]


def test_sample_frames_used_here_have_the_contract_columns() -> None:
    assert tuple(frame([1.0]).columns) == COLUMNS
