"""`cloud-monitoring` SLOs inside a stage: read once, over the judged window, with the exporter's client."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from harness._verdicts import Verdict
from harness.canary._stage import judge_stage
from harness.monitoring import DescriptorCache, FakeMetricService, MonitoringExporter
from harness.slo import load_slos
from tests.canary.test_stage import PRICES, SLOS, T0, _inputs, _samples
from tests.monitoring.test_cloud_monitoring_source import (
    END,
    LATENCY_SLO,
    START,
    _distribution,
    _series,
)


@pytest.fixture
def exporter() -> Iterator[tuple[FakeMetricService, MonitoringExporter]]:
    with FakeMetricService() as fake, MonitoringExporter(
        "test-project", endpoint=fake.endpoint, descriptors=DescriptorCache(), timeout=10.0
    ) as exporter:
        yield fake, exporter


def test_a_cloud_monitoring_slo_is_read_once_per_stage_over_the_judged_window(exporter, tmp_path: Path) -> None:
    fake, exp = exporter
    rng = np.random.default_rng(3)
    for minute, chunk in enumerate(np.array_split(rng.uniform(20, 90, 3000), 3)):
        fake.add_series(_series("run.googleapis.com/request_latencies", "ai-routing-engine-00002-cana", minute,
                                {"distribution_value": _distribution(chunk)}))  # fmt: skip
    (tmp_path / "cloud.yaml").write_text(textwrap.dedent(LATENCY_SLO))
    slos = [*SLOS, *load_slos(tmp_path / "cloud.yaml")]
    start, end = START.timestamp(), END.timestamp()
    samples = _samples(rng, 30)
    samples["ts"] = samples["ts"] - T0 + start
    inputs = _inputs(samples, 30, started_at=start - 5, judged_from=start, judged_to=end, ended_at=end + 2)

    stage = judge_stage(inputs, slos, prices=PRICES, monitoring=exp)

    remote = [c for c in stage.checks if c.name == "run-latency-p95"]
    assert [c.scope for c in remote] == ["revision=ai-routing-engine-00002-cana"]  # not again for scope "all"
    assert remote[0].verdict is Verdict.PASS and remote[0].samples == 3000
    calls = fake.calls_to("ListTimeSeries")
    assert len(calls) == 1
    interval = calls[0].interval
    assert interval.start_time.timestamp() == pytest.approx(start) and interval.end_time.timestamp() == pytest.approx(end)


def test_without_an_exporter_a_cloud_monitoring_slo_is_inconclusive_not_passed(tmp_path: Path) -> None:
    (tmp_path / "cloud.yaml").write_text(textwrap.dedent(LATENCY_SLO))
    slos = [*SLOS, *load_slos(tmp_path / "cloud.yaml")]
    stage = judge_stage(_inputs(_samples(np.random.default_rng(4), 30), 30), slos, prices=PRICES)
    remote = [c for c in stage.checks if c.name == "run-latency-p95"]
    assert len(remote) == 1 and remote[0].verdict is Verdict.INCONCLUSIVE
