from __future__ import annotations

import time

import grpc

from harness._verdicts import Check, Verdict


def _checks(value):
    return [Check("api-latency-p95", Verdict.PASS, value, 100.0, "lt", unit="ms", samples=10)]


def test_live_snapshots_are_exported_every_interval_and_stop_on_exit(fake, make_exporter):
    exporter = make_exporter()
    calls = []

    def snapshot():
        calls.append(time.monotonic())
        return _checks(float(len(calls)))

    with exporter.live(snapshot, interval=0.1, run_id="r", stage="10", scenario="platform") as live:
        deadline = time.monotonic() + 5
        while len(live.results) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    ticks = len(calls)
    time.sleep(0.3)
    assert len(calls) == ticks >= 3  # no tick after exit
    latency = [s for s in fake.stored if s.metric.type.endswith("/latency")]
    assert {s.metric.labels["phase"] for s in latency} == {"live"}
    ends = [s.points[0].interval.end_time.timestamp() for s in latency]
    assert ends == sorted(ends) and len(set(ends)) == len(ends)  # strictly forward in time
    assert [s.points[0].value.double_value for s in latency][:3] == [1.0, 2.0, 3.0]


def test_a_failing_snapshot_or_export_does_not_stop_the_live_thread(fake, make_exporter):
    exporter = make_exporter(timeout=0.5)
    fake.fail("CreateTimeSeries", grpc.StatusCode.INVALID_ARGUMENT, times=1)
    state = {"n": 0}

    def snapshot():
        state["n"] += 1
        if state["n"] == 1:
            raise RuntimeError("samples file busy")
        return _checks(42.0)

    with exporter.live(snapshot, interval=0.05, run_id="r", stage="10", scenario="platform") as live:
        deadline = time.monotonic() + 5
        while not any(r.ok for r in live.results) and time.monotonic() < deadline:
            time.sleep(0.02)
    assert [r.ok for r in live.results][:2] == [False, True]
    assert "INVALID_ARGUMENT" in live.results[0].message


def test_live_export_with_export_disabled_starts_no_thread(make_exporter):
    import threading

    before = threading.active_count()
    with make_exporter(project=None).live(lambda: _checks(1.0), interval=0.05, run_id="r", stage="1", scenario="s") as live:
        time.sleep(0.15)
        assert threading.active_count() == before
    assert live.results == []


def test_the_samples_snapshot_judges_the_rows_written_so_far(tmp_path, fake, make_exporter):
    from harness.monitoring import samples_snapshot
    from harness.samples import SampleWriter
    from harness.slo import load_slos

    slo = tmp_path / "latency.yaml"
    slo.write_text(
        "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: latency-p95}\n"
        "spec:\n  service: x\n  indicator:\n    metadata: {name: p95}\n    spec:\n      thresholdMetric:\n"
        "        metricSource: {type: harness, spec: {query: p95(latency_ms), groupBy: [revision]}}\n"
        "  timeWindow: [{duration: 10m, isRolling: true}]\n  budgetingMethod: Occurrences\n"
        "  objectives: [{op: lt, value: 100}]\n"
    )
    samples = tmp_path / "samples.arrow"
    snapshot = samples_snapshot(samples, load_slos(slo), min_samples=5)
    assert snapshot() == []  # nothing written yet
    now = time.time()
    with SampleWriter(samples) as writer:
        for i in range(40):
            latency = 150.0 if i >= 20 else 20.0  # half above 100 ms: p95 beyond doubt, even from 40 samples
            writer.add((now + i, now + i, "GET /", "GET", 200, True, "", latency, latency, 10, "canary", "", "w"))
    (check,) = snapshot()
    assert check.verdict is Verdict.FAIL and check.scope == "revision=canary" and check.samples == 40
    with make_exporter().live(snapshot, interval=0.05, run_id="r", stage="10", scenario="s") as live:
        deadline = time.monotonic() + 5
        while not live.results and time.monotonic() < deadline:
            time.sleep(0.02)
    verdicts = [s for s in fake.stored if s.metric.type.endswith("/verdict")]
    assert verdicts and verdicts[0].points[0].value.int64_value == 1
