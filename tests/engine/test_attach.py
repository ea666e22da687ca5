"""Runs against a platform already up (`--attach`): the topology in use decides what is routed and faulted."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.engine.conftest import LOCUSTFILE, harness, traffic

pytestmark = pytest.mark.slow

GOVERNANCE_CANARY = {
    "name": "governance-canary",
    "entry": "edge",
    "redis": {"mode": "off"},
    "services": {
        "internal-ai.primary": {"service": "internal-ai-service", "region": "us-central1"},
        "security-governance": {"service": "security-governance", "canary": {"weight": 0}},
        "ai-routing-engine": {"service": "ai-routing-engine", "region": "us-central1",
                              "upstreams": ["internal-ai.primary"]},
        "edge": {"service": "edge", "upstreams": ["ai-routing-engine", "security-governance"]},
    },
}


def test_rollout_attach_shifts_the_topologys_canary_service_journals_it_and_restores_it(
    detached: Callable[[dict | None], Path], slo_dir: str, tmp_path: Path
) -> None:
    state_file = detached(GOVERNANCE_CANARY)
    state = json.loads(state_file.read_text())
    assert state["canary"] == {"service": "security-governance", "baseline": "security-governance",
                               "canary": "security-governance@canary", "router": "edge"}
    out = tmp_path / "reports"
    run = harness("rollout", "--attach", str(state_file), "--stages", "30", "--stage-duration", "3s",
                  "--warmup", "1s", "--rps", "20", "--locustfile", LOCUSTFILE, "--slo-dir", slo_dir,
                  "--out", str(out), "--no-live")
    # the governance canary sees no /v1/route traffic: its stage cannot pass, and is rolled back
    assert run.returncode == 2, run.stdout + run.stderr
    report = json.loads(next(out.glob("*rollout*/stage-30/report.json")).read_text())
    labels = [e["label"] for e in report["events"]]
    assert "stage: security-governance canary weight 30 %" in labels, labels
    assert not any("ai-routing-engine canary weight" in label for label in labels)
    split = traffic(state)
    assert split["security-governance"]["canary_percent"] == 0  # the rollback, then the restore
    assert split["ai-routing-engine"]["canary_percent"] == 0  # never touched


def test_gameday_attach_refuses_an_experiment_naming_an_unknown_link_before_any_load(
    detached: Callable[[dict | None], Path], tmp_path: Path
) -> None:
    state_file = detached(GOVERNANCE_CANARY)
    experiment = tmp_path / "outage.yaml"
    experiment.write_text(yaml.safe_dump({
        "title": "backup outage", "description": "the topology in use has no backup region",
        "method": [{"name": "backup down", "at": "1s", "for": "2s", "link": "ai-routing-engine->internal-ai.backup",
                    "action": "down"}],
        "load": {"duration": "10s", "rps": 10},
    }))  # fmt: skip
    out = tmp_path / "reports"
    run = harness("gameday", str(experiment), "--attach", str(state_file), "--out", str(out), timeout=60)
    assert run.returncode == 2, run.stderr
    assert "no link 'ai-routing-engine->internal-ai.backup'" in run.stderr and run.stderr.count("\n") == 1
    assert not out.exists()  # refused before any load: nothing ran, nothing written
