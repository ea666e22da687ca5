"""The game-day report: saved as JSON, rebuilt from disk, readable by the gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness._exceptions import ReportError
from harness._verdicts import Check, Verdict
from harness.report import Series, Window, gate
from harness.report._gameday import GameDayResult, load_gameday, render_gameday, save_gameday


def result(verdict: Verdict = Verdict.FAIL, complete: bool = True) -> GameDayResult:
    failover = Check("failover/primary down", verdict, None, 30.0, "lt", unit="s", samples=300,
                     scope="ai-routing-engine->internal-ai.primary", kind="failover",
                     detail="never failed over: no run of 5 consecutive 1 s windows")  # fmt: skip
    return GameDayResult(
        name="Primary AI region outage <b>", run_id="20261129-000000-gameday-abcd", verdict=verdict,
        started_at=1_000.0, ended_at=1_060.0, complete=complete,
        incomplete_reason="" if complete else "interrupted (Ctrl-C); faults rolled back, processes stopped",
        checks=[failover], series=[Series("p95 canary", "latency", [0.0, 1.0], [20.0, 2000.0], "ms")],
        windows=[Window(15.0, 45.0, "primary down")],
        experiment={"title": "Primary AI region outage <b>", "source": "chaos/region-outage.yaml", "tags": ["failover"],
                    "description": "the primary region stops answering"},
        journal=[{"action": "primary down", "kind": "toxic", "target": "ai-routing-engine->internal-ai.primary",
                  "phase": "method", "planned_start": 15.0, "planned_end": 45.0, "started_at": 1_015.0,
                  "ended_at": 1_045.0, "outcome": "undone", "error": "", "undo_error": ""}],
        faults=[{"action": "primary down", "target": "ai-routing-engine->internal-ai.primary", "kind": "toxic",
                 "injected_at": 1_015.0, "removed_at": 1_045.0, "first_error_s": None, "failover_s": None,
                 "recovery_s": 2.0, "requests": 300, "failed": 0, "error_ratio": 0.0, "primary_region": "us-central1",
                 "primary_returned": True, "primary_return_s": 8.0, "rule": "5 consecutive 1 s windows",
                 "judge": ["failover"]}],
        rule="5 consecutive 1 s windows", reason="failover never happened",
    )  # fmt: skip


def test_a_saved_game_day_is_rebuilt_from_disk_alone(tmp_path: Path) -> None:
    original = result()
    save_gameday(original, tmp_path)
    render_gameday(tmp_path)
    _, loaded = load_gameday(tmp_path)
    assert loaded.to_dict() == original.to_dict()
    html = (tmp_path / "index.html").read_text()
    assert "never" in html and "primary down" in html and 'class="win-fault"' in html
    assert "&lt;b&gt;" in html and "<b>\n" not in html  # titles are escaped
    junit = (tmp_path / "junit.xml").read_text()
    assert 'failures="1"' in junit and "failover/primary down" in junit
    assert "| primary down |" in (tmp_path / "summary.md").read_text()


@pytest.mark.parametrize(
    ("verdict", "complete", "code"),
    [(Verdict.PASS, True, 0), (Verdict.FAIL, True, 1), (Verdict.INCONCLUSIVE, False, 2)],
)
def test_the_gate_reads_a_game_day_like_a_rollout(tmp_path: Path, verdict: Verdict, complete: bool, code: int) -> None:
    save_gameday(result(verdict, complete), tmp_path)
    assert gate(tmp_path).exit_code == code
    assert json.loads((tmp_path / "summary.json").read_text())["kind"] == "gameday"


def test_a_rollout_report_is_not_mistaken_for_a_game_day(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text(json.dumps({"schema_version": 1, "kind": "stage"}))
    with pytest.raises(ReportError, match="not a game-day report"):
        load_gameday(tmp_path)
