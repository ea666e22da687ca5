"""Issue 8 wired into `harness rollout`: every stage's checks reach Cloud Monitoring (a real
client against the in-process fake), an export failure is a note unless `--require-export`.

The rollout runs as its own process (`python -m harness rollout`), as users run it: the
process that forks the platform and Locust then holds only a gRPC client, never the
fake's server threads (forking beside a busy in-process gRPC server can abort a child).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from harness.cli import main
from harness.monitoring import FakeMetricService
from tests.integration.conftest import LOCUSTFILE, ROOT

PREFIX = "custom.googleapis.com/xynergy_harness/"


def harness(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)  # fmt: skip


def rollout_args(out: Path, slo_dir: str, endpoint: str, *extra: str) -> list[str]:
    return ["rollout", "--stages", "50,100", "--stage-duration", "5s", "--warmup", "1s", "--rps", "60",
            "--locustfile", LOCUSTFILE, "--slo-dir", slo_dir, "--out", str(out), "--no-live",
            "--gcp-project", "test-proj", "--monitoring-endpoint", endpoint, *extra]  # fmt: skip


@pytest.fixture(scope="module")
def exported_rollout(
    fake_monitoring: FakeMetricService, slo_dir: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[int, dict[str, Any], list[Any]]]:
    """A healthy two-stage rollout whose first export is refused (PERMISSION_DENIED) and second accepted."""
    out = tmp_path_factory.mktemp("reports")
    fake_monitoring.fail("CreateTimeSeries", grpc.StatusCode.PERMISSION_DENIED, times=1)
    code = harness(*rollout_args(out, slo_dir, fake_monitoring.endpoint)).returncode
    summary = json.loads((out / "latest" / "summary.json").read_text())
    series = [ts for call in fake_monitoring.calls_to("CreateTimeSeries") for ts in call.time_series]
    yield code, summary, series


@pytest.mark.slow
def test_each_stage_is_exported_with_typed_metrics_and_run_stage_revision_labels(exported_rollout) -> None:
    code, summary, series = exported_rollout
    assert code == 0 and summary["verdict"] == "pass", summary.get("reason")
    types = {ts.metric.type for ts in series}
    assert {PREFIX + "latency", PREFIX + "error_ratio", PREFIX + "verdict", PREFIX + "samples"} <= types
    labels = [dict(ts.metric.labels) for ts in series]
    assert {lab["run_id"] for lab in labels} == {summary["run_id"]}
    assert {lab["run_kind"] for lab in labels} == {"rollout"} and {lab["scenario"] for lab in labels} == {"route_locustfile"}
    assert {"canary", "all"} <= {lab["revision"] for lab in labels}
    p95 = [ts for ts in series if ts.metric.type == PREFIX + "latency" and ts.metric.labels["revision"] == "canary"
           and ts.metric.labels["statistic"] == "p95"]
    assert p95 and all(0 < ts.points[0].value.double_value < 1000 for ts in p95)


@pytest.mark.slow
def test_a_refused_export_is_noted_and_leaves_the_verdict_alone(exported_rollout) -> None:
    code, summary, series = exported_rollout
    assert code == 0 and [s["verdict"] for s in summary["stages"]] == ["pass", "pass"]
    notes = [n for n in summary["run"]["notes"] if "monitoring export" in n]
    assert len(notes) == 2
    assert notes[0].startswith("stage 50 %") and "FAILED" in notes[0] and "PERMISSION_DENIED" in notes[0]
    assert notes[1].startswith("stage 100 %") and "FAILED" not in notes[1]
    assert {ts.metric.labels["stage"] for ts in series} == {"50", "100"}  # both were sent; the first refused


@pytest.mark.slow
def test_require_export_turns_a_refused_export_into_one_line_and_exit_2(
    fake_monitoring: FakeMetricService, slo_dir: str, tmp_path: Path
) -> None:
    fake_monitoring.fail("CreateTimeSeries", grpc.StatusCode.PERMISSION_DENIED, times=1)
    out = tmp_path / "reports"
    args = rollout_args(out, slo_dir, fake_monitoring.endpoint, "--require-export")
    args[args.index("50,100")] = "100"
    args[args.index("5s")] = "2s"
    proc = harness(*args)
    assert proc.returncode == 2, proc.stderr[-2000:]
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and "--require-export" in err[0] and "PERMISSION_DENIED" in err[0], err
    summary = json.loads((out / "latest" / "summary.json").read_text())
    assert summary["complete"] is False and "PERMISSION_DENIED" in summary["incomplete_reason"]
    assert main(["gate", str(out / "latest")]) == 2
