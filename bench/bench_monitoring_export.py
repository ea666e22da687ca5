"""Export throughput and failure-path bounds against the local fake MetricService (real gRPC on loopback)."""
from __future__ import annotations

import socket
import statistics
import time

import grpc

from harness._verdicts import Check, Verdict
from harness.monitoring import DescriptorCache, FakeMetricService, MonitoringExporter


def checks(n: int) -> list[Check]:
    return [Check(f"slo-{i}-latency-p95", Verdict.PASS, 50.0 + i % 40, 100.0, "lt", unit="ms", samples=1000,
                  scope=f"revision={'canary' if i % 2 else 'baseline'}") for i in range(n)]


def timed(fn, repeat=5):
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs), result


with FakeMetricService() as fake:
    for n in (10, 100, 1000):
        stage = iter(range(10**6))
        exporter = MonitoringExporter("bench-project", endpoint=fake.endpoint, descriptors=DescriptorCache())
        exporter.export_checks(checks(1), run_id="warm", stage="0", scenario="b", end_time=time.time())
        med, r = timed(lambda: exporter.export_checks(checks(n), run_id="r", stage=str(next(stage)), scenario="b", end_time=time.time()))
        print(f"export {n:5d} checks = {r.points:5d} points in {r.calls:3d} calls: median {med*1000:7.1f} ms  ({r.points/med:,.0f} points/s)")
        exporter.close()
    fake.fail("CreateTimeSeries", grpc.StatusCode.UNAVAILABLE, times=3)
    exporter = MonitoringExporter("bench-project", endpoint=fake.endpoint, descriptors=DescriptorCache())
    t = time.perf_counter(); r = exporter.export_checks(checks(10), run_id="r", stage="retry", scenario="b", end_time=time.time())
    print(f"3 x UNAVAILABLE then success: {time.perf_counter()-t:.2f} s, ok={r.ok}, retries={r.retries}")
    exporter.close()

with socket.socket() as s:
    s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
for budget in (1.0, 5.0):
    exporter = MonitoringExporter("bench-project", endpoint=f"127.0.0.1:{port}", timeout=budget, descriptors=DescriptorCache())
    t = time.perf_counter(); r = exporter.export_checks(checks(10), run_id="r", stage="1", scenario="b", end_time=time.time())
    print(f"unreachable endpoint, budget {budget:.0f} s: gave up after {time.perf_counter()-t:.2f} s, ok={r.ok}")
    exporter.close()
disabled = MonitoringExporter(None)
med, _ = timed(lambda: disabled.export_checks(checks(100), run_id="r", stage="1", scenario="b", end_time=time.time()))
print(f"disabled exporter (no project), 100 checks: {med*1e6:.0f} µs")
