"""Real game days: the platform as processes, Locust as a subprocess, faults through Toxiproxy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness._verdicts import Verdict
from harness.chaos import GameDayConfig, run_gameday
from harness.cli import main
from harness.report import gate

ROOT = Path(__file__).parents[2]
LOCUSTFILE = Path(__file__).with_name("gameday_locustfile.py")
BLACKHOLE = {
    "name": "primary blackholed",
    "at": "2s",
    "for": "14s",
    "link": "ai-routing-engine->internal-ai.primary",
    "action": "toxic",
    "toxic": {"type": "timeout", "attributes": {"timeout": 0}},
    "judge": ["failover", "recovery"],
}


def experiment(tmp_path: Path, **fields: Any) -> Path:
    doc: dict[str, Any] = {
        "title": "short region outage",
        "description": "the primary AI region stops answering",
        "method": [BLACKHOLE],
        "load": {"duration": "22s", "rps": 15},
    }
    doc.update(fields)
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def config(path: Path, tmp_path: Path, **overrides: Any) -> GameDayConfig:
    return GameDayConfig(path, out=tmp_path / "reports", slo_dir=ROOT / "slos", locustfile=LOCUSTFILE, live=False,
                         min_samples=15, **overrides)  # fmt: skip


def test_an_invalid_experiment_is_refused_with_one_line_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = experiment(tmp_path, method=[{**BLACKHOLE, "link": "edge->nowhere"}])
    assert main(["gameday", str(path), "--out", str(tmp_path / "reports")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"harness: error: {path}: method[0].link: no link 'edge->nowhere' in the topology")
    assert "\n" not in err
    assert not (tmp_path / "reports").exists()


def test_an_unknown_slo_in_the_steady_state_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = experiment(tmp_path, **{"steady-state-hypothesis": {"slos": ["latency-p95", "no-such-slo"]}})
    assert main(["gameday", str(path), "--slo-dir", str(ROOT / "slos")]) == 2
    assert "steady-state-hypothesis.slos[1]: no SLO named 'no-such-slo'" in capsys.readouterr().err


def test_a_duration_flag_shorter_than_the_method_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gameday", str(experiment(tmp_path)), "--duration", "10s", "--slo-dir", str(ROOT / "slos")]) == 2
    assert "--duration: 10s is shorter than the experiment's method, which ends at 16s" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--duration", "soon"], "--duration: expected a duration, a number and a unit"),
        (["--rps", "-3"], "--rps: must be positive, got -3"),
        (["--canary-weight", "150"], "--canary-weight: must be 0-100, got 150"),
        (["--canary-defect", "bogus"], "--canary-defect: invalid defect profile 'bogus'"),
    ],
)
def test_a_bad_flag_is_named_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    assert main(["gameday", str(experiment(tmp_path)), *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.slow
def test_the_platform_fails_over_from_a_blackholed_primary_region_within_the_slo(tmp_path: Path) -> None:
    # The breaker's half-open probes (backoff 1, 2, 4, 8 s) each cost one request the full 2 s
    # upstream timeout, so five probe-free healthy seconds in a row take ~7-20 s to come: give it 25 s.
    long_outage = {**BLACKHOLE, "for": "25s"}
    path = experiment(tmp_path, method=[long_outage], load={"duration": "33s", "rps": 15})
    result = run_gameday(config(path, tmp_path))
    [fault] = result.faults
    assert result.complete and result.verdict is Verdict.PASS, result.reason
    assert fault["failover_s"] is not None and fault["failover_s"] < 30
    assert fault["recovery_s"] is not None and fault["failed"] == 0
    assert [e["outcome"] for e in result.journal] == ["undone"]
    run_dir = tmp_path / "reports" / result.run_id
    for name in ("index.html", "report.json", "summary.json", "junit.xml", "summary.md"):
        assert (run_dir / name).is_file(), name
    html = (run_dir / "index.html").read_text()
    assert "primary blackholed" in html and 'class="win-fault"' in html
    assert gate(run_dir).exit_code == 0


@pytest.mark.slow
def test_a_canary_without_its_circuit_breaker_fails_the_failover_slo(tmp_path: Path) -> None:
    # without the breaker every request waits the 2 s upstream timeout: no outage is long enough
    short_outage = {**BLACKHOLE, "for": "8s", "judge": ["failover"]}
    path = experiment(tmp_path, method=[short_outage], load={"duration": "12s", "rps": 15})
    result = run_gameday(config(path, tmp_path, canary_defect="breaker-off"))
    failover = next(c for c in result.checks if c.name == "failover/primary blackholed")
    assert failover.verdict is Verdict.FAIL and failover.value is None
    assert result.verdict is Verdict.FAIL and result.exit_code == 1
    assert result.requests.get("canary", 0) > result.requests.get("baseline", 0)


@pytest.mark.slow
def test_chaos_is_refused_when_the_steady_state_does_not_hold(tmp_path: Path) -> None:
    path = experiment(tmp_path, **{"steady-state-hypothesis": {"slos": ["error-ratio"], "duration": "4s"}})
    result = run_gameday(config(path, tmp_path, canary_defect="errors"))
    # a steady state that failed, or that 4 s on a busy machine could not prove, both refuse chaos
    assert result.verdict is not Verdict.PASS
    assert result.exit_code == {Verdict.FAIL: 1, Verdict.INCONCLUSIVE: 2}[result.verdict]
    assert result.reason.startswith("steady state did not hold before chaos; no fault injected: error-ratio")
    assert result.journal == [] and result.faults == []
    saved = json.loads((tmp_path / "reports" / result.run_id / "summary.json").read_text())
    assert saved["verdict"] == result.verdict.value and saved["kind"] == "gameday"
