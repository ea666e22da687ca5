from __future__ import annotations

import pytest

from harness._exceptions import ReportError
from harness._verdicts import Check, Verdict
from harness.monitoring import export_saved_run
from harness.report._gameday import GameDayResult, save_gameday
from harness.report._model import RunResult, StageResult
from harness.report._store import save_run

T0 = 1_795_990_000.0


def _latency(value, verdict=Verdict.PASS):
    return Check("api-latency-p95", verdict, value, 100.0, "lt", unit="ms", samples=500, scope="revision=canary")


def test_a_saved_rollout_is_exported_stage_by_stage_at_each_stage_end(tmp_path, fake, make_exporter):
    stages = [
        StageResult(name="stage-10", weight=10, started_at=T0, ended_at=T0 + 70, checks=[_latency(80.0)]),
        StageResult(name="stage-50", weight=50, started_at=T0 + 70, ended_at=T0 + 140, checks=[_latency(130.0, Verdict.FAIL)]),
    ]
    run = RunResult(name="rollout", run_id="20261129-233012-rollout-1a2b", started_at=T0, ended_at=T0 + 150,
                    stages=stages, config={"locustfile": "scenarios/xynergy_platform.py"})
    run.judge()
    save_run(run, tmp_path / run.run_id)
    result = export_saved_run(make_exporter(), tmp_path / run.run_id / "summary.json")
    assert result.ok and result.written == 8
    latency = {s.metric.labels["stage"]: s for s in fake.stored if s.metric.type.endswith("/latency")}
    assert set(latency) == {"10", "50"}
    assert latency["50"].points[0].value.double_value == 130.0
    assert latency["50"].points[0].interval.end_time.timestamp() == pytest.approx(T0 + 140)
    assert {s.metric.labels["scenario"] for s in fake.stored} == {"xynergy_platform"}
    assert {s.metric.labels["run_id"] for s in fake.stored} == {run.run_id}


def test_a_saved_game_day_is_exported_with_its_experiment_as_scenario(tmp_path, fake, make_exporter):
    failover = Check("failover", Verdict.PASS, 6.5, 30.0, "lt", unit="s", kind="failover", samples=1)
    result = GameDayResult(name="primary region outage", run_id="20261129-233500-gameday-9f9f", started_at=T0,
                           ended_at=T0 + 90, checks=[failover], experiment={"source": "chaos/region-outage.yaml"})
    result.judge()
    save_gameday(result, tmp_path / "gd")
    exported = export_saved_run(make_exporter(), tmp_path / "gd")
    assert exported.ok
    (series,) = [s for s in fake.stored if s.metric.type.endswith("/failover_time")]
    labels = dict(series.metric.labels)
    assert labels["run_kind"] == "gameday" and labels["stage"] == "gameday" and labels["scenario"] == "region-outage"
    assert series.points[0].value.double_value == 6.5


def test_a_missing_report_is_a_report_error(tmp_path, make_exporter):
    with pytest.raises(ReportError, match="no such report"):
        export_saved_run(make_exporter(), tmp_path / "nothing-here")
