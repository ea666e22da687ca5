"""Issue 7 inside issue 6: a rollout stage running a region outage judges failover like a game day,
so a canary without its circuit breaker is rolled back at 10 %, the failover check named
(judged on the canary's own requests: the baseline's 90 % fail over fine)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from harness.cli import main
from tests.integration.conftest import ROOT

# every routing request is a cache miss, so each one reaches an AI region and sees the outage
LOCUSTFILE = str(ROOT / "tests" / "chaos" / "gameday_locustfile.py")

# chaos/region-outage.yaml, shortened to fit a test stage (the shipped file needs a 50 s stage)
SHORT_OUTAGE = {
    "title": "short primary region outage",
    "description": "the primary AI region stops answering for 14 s",
    "failover-slo": "failover",
    "method": [{
        "name": "primary region blackholed", "at": "2s", "for": "14s",
        "link": "ai-routing-engine->internal-ai.primary", "action": "toxic",
        "toxic": {"type": "timeout", "attributes": {"timeout": 0}}, "judge": ["failover"],
    }],
}  # fmt: skip


@pytest.mark.slow
def test_a_canary_without_its_breaker_is_rolled_back_at_10_percent_on_the_failover_check(
    slo_dir: str, tmp_path: Path
) -> None:
    experiment = tmp_path / "short-outage.yaml"
    experiment.write_text(yaml.safe_dump(SHORT_OUTAGE, sort_keys=False))
    out = tmp_path / "reports"
    code = main(["rollout", "--experiment", str(experiment), "--canary-defect", "breaker-off", "--stages", "10,50",
                 "--stage-duration", "20s", "--warmup", "1s", "--rps", "80", "--locustfile", LOCUSTFILE,
                 "--slo-dir", slo_dir, "--out", str(out), "--no-live"])  # fmt: skip
    summary = json.loads((out / "latest" / "summary.json").read_text())
    assert code == 1 and summary["verdict"] == "fail" and summary["rolled_back"], summary["reason"]
    assert [s["weight"] for s in summary["stages"]] == [10]
    # 90 % of the traffic still fails over (the baseline has its breaker); the canary's own share never does
    failover = {c["scope"]: c for c in summary["stages"][0]["checks"] if c["name"] == "failover/primary region blackholed"}
    canary = failover["revision=canary ai-routing-engine->internal-ai.primary"]
    assert canary["verdict"] == "fail" and canary["value"] is None, failover
    assert "failover/primary region blackholed" in {c["name"] for c in summary["failed_checks"]}
    assert main(["gate", str(out / "latest")]) == 1
    assert "failover/primary region blackholed" in (out / "latest" / "stage-10" / "index.html").read_text()
