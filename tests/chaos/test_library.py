"""Every shipped experiment validates against the default topology and the shipped SLOs."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.chaos import load_for_topology, validate_experiment_file
from harness.slo import load_slos

ROOT = Path(__file__).parents[2]
SHIPPED = sorted((ROOT / "chaos").glob("*.yaml"))
SLO_NAMES = [s.name for s in load_slos(ROOT / "slos")]


def test_the_library_covers_the_game_days_the_platform_needs() -> None:
    names = {p.stem for p in SHIPPED}
    assert {
        "region-outage", "region-down", "ai-latency-spike", "redis-outage", "bandwidth-throttle", "reset-peer-storm",
        "slow-close", "governance-unreachable", "crash-restart", "edge-freeze",
    } <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_a_shipped_experiment_validates_against_the_default_topology(path: Path) -> None:
    experiment = load_for_topology(path, None, SLO_NAMES)
    assert experiment.method and experiment.steady_state is not None
    assert experiment.duration is not None and experiment.duration >= experiment.method_end + 5
    assert all(a.is_fault and a.end is not None for a in experiment.method), "every fault is bounded in time"


def test_the_region_outage_judges_failover_against_the_failover_slo() -> None:
    experiment = load_for_topology(ROOT / "chaos" / "region-outage.yaml", None, SLO_NAMES)
    [outage] = experiment.method
    assert outage.link == "ai-routing-engine->internal-ai.primary" and outage.action == "toxic"
    assert outage.toxic is not None and outage.toxic.type == "timeout"  # a blackhole, not a refusal
    assert outage.judge == ("failover", "recovery") and experiment.failover_slo == "failover"


def test_the_validate_hook_accepts_a_shipped_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert validate_experiment_file(ROOT / "chaos" / "edge-freeze.yaml").title == "Edge frozen for 5 s"


def test_harness_validate_checks_every_shipped_experiment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.cli import main

    monkeypatch.chdir(ROOT)
    assert main(["validate", "chaos/"]) == 0
    assert len([line for line in capsys.readouterr().out.splitlines() if line.strip()]) >= len(SHIPPED)


def test_harness_validate_names_the_field_of_a_broken_experiment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.cli import main

    broken = tmp_path / "broken.yaml"
    broken.write_text((ROOT / "chaos" / "edge-freeze.yaml").read_text().replace("process: edge", "process: edgy"))
    monkeypatch.chdir(ROOT)
    assert main(["validate", str(broken)]) == 2
    assert f"{broken}: method[0].process: no instance 'edgy' in the topology" in capsys.readouterr().err
