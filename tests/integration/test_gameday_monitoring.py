"""Issue 8 wired into `harness gameday`: the game day's checks reach Cloud Monitoring before its
report is saved, and the export's outcome is in the report; `--workers` drives the load.

Run as its own process, as users run it (see test_rollout_monitoring.py for why)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.monitoring import FakeMetricService
from tests.integration.conftest import ROOT

PREFIX = "custom.googleapis.com/xynergy_harness/"
SLOW_LINK = {
    "title": "ai link slowed",
    "description": "40 ms on the AI link for 3 s: short, and well inside the SLOs",
    "method": [{"name": "slow ai link", "at": "2s", "for": "3s", "link": "ai-routing-engine->internal-ai.primary",
                "action": "toxic", "toxic": {"type": "latency", "attributes": {"latency": 40}}}],
    "checks": [{"name": "errors while slowed", "slo": "error-ratio", "window": "fault"}],
    "load": {"duration": "8s", "rps": 15},
}  # fmt: skip


@pytest.mark.slow
def test_a_game_day_with_two_workers_exports_its_checks_and_notes_the_outcome(
    fake_monitoring: FakeMetricService, tmp_path: Path
) -> None:
    path = tmp_path / "ai-link-slow.yaml"
    path.write_text(yaml.safe_dump(SLOW_LINK, sort_keys=False))
    before = len(fake_monitoring.calls_to("CreateTimeSeries"))
    out = tmp_path / "reports"
    proc = subprocess.run([sys.executable, "-m", "harness", "gameday", str(path), "--out", str(out), "--slo-dir", str(ROOT / "slos"), "--workers", "2",
                 "--scenario", str(ROOT / "tests" / "chaos" / "gameday_locustfile.py"), "--min-samples", "15",
                 "--gcp-project", "test-proj", "--monitoring-endpoint", fake_monitoring.endpoint],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)  # fmt: skip
    code = proc.returncode
    summary = json.loads((out / "latest" / "summary.json").read_text())
    assert summary["kind"] == "gameday" and summary["complete"], summary.get("incomplete_reason")
    # a healthy platform is never failed; a thin window may stay undecided (2)
    assert code == summary["exit_code"] and summary["verdict"] != "fail", summary["reason"]
    series = [ts for call in fake_monitoring.calls_to("CreateTimeSeries")[before:] for ts in call.time_series]
    assert series and {ts.metric.labels["run_id"] for ts in series} == {summary["run_id"]}
    assert {ts.metric.labels["run_kind"] for ts in series} == {"gameday"}
    assert {ts.metric.labels["stage"] for ts in series} == {"gameday"}
    assert {ts.metric.labels["scenario"] for ts in series} == {"ai-link-slow"}
    assert PREFIX + "verdict" in {ts.metric.type for ts in series}
    report = json.loads((out / "latest" / "report.json").read_text())
    notes = [n for n in report["notes"] if n.startswith("monitoring export")]
    assert len(notes) == 1 and "FAILED" not in notes[0]
    assert notes[0] in proc.stdout
