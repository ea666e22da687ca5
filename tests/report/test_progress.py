"""Terminal progress: the platform start per process, the game day's live state, the run's final lines.

The platform start is a real one (one service behind a real Toxiproxy); the
game-day display is fed the engine's own event types with synthetic samples
of a region outage, as the engine would fire them.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from rich.console import Console

from harness.canary._live import PlatformStart, RollbackTally, follow_platform_start, follow_stage_lines
from harness.chaos._experiment import Action, Experiment, HealthyRule
from harness.chaos._live import GameDayProgress, follow_gameday, region_rates
from harness.engine import (
    Events,
    FaultInjected,
    FaultRemoved,
    RunFinished,
    SamplesFlushed,
    StageFinished,
    StageStarted,
    WeightSet,
)
from harness.topology import Platform
from harness.topology._platform import StartProgress


def _console() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=160, force_terminal=False), buf


def test_a_real_platform_start_reports_every_process_as_it_becomes_ready(tmp_path):
    topology = tmp_path / "topology.yaml"
    topology.write_text(yaml.safe_dump({"entry": "internal-ai.primary", "redis": "off", "services": {
        "internal-ai.primary": {"service": "internal-ai-service", "region": "r1"}}}))
    seen: list[StartProgress] = []
    console, buf = _console()
    display = PlatformStart(console, live=False)

    def listener(e: StartProgress) -> None:
        seen.append(e)
        display(e)

    with Platform.up(topology, run_dir=tmp_path / "run", progress=listener) as platform:
        names = set(platform.instances) | {"toxiproxy"}
        restarted = len(seen)
        platform.restart("internal-ai.primary")  # a later restart is not part of the start
        assert len(seen) == restarted
    assert seen[0].state == "starting" and seen[0].total == len(seen) - 1
    ready = [e for e in seen if e.state == "ready"]
    assert {e.instance for e in ready} <= names and "internal-ai.primary" in {e.instance for e in ready}
    assert [e.done for e in ready] == list(range(1, len(ready) + 1)) and ready[-1].done == ready[-1].total
    assert all(e.ready_s is not None and e.ready_s > 0 for e in ready)
    out = buf.getvalue()
    assert out.splitlines()[0] == f"starting {seen[0].total} processes…"
    assert "internal-ai.primary ready" in out and f"platform up: {seen[0].total} processes ready in" in out


def test_the_live_start_line_is_replaced_by_the_summary_and_closes_on_a_failed_start():
    console, buf = _console()
    events = Events()
    display = follow_platform_start(events, console, live=True)
    events.platform_progress.fire(StartProgress("starting", "", None, 0, 3))
    events.platform_progress.fire(StartProgress("ready", "toxiproxy", 0.4, 1, 3))
    assert display._display is not None
    events.run_finished.fire(RunFinished("r", "inconclusive", 2, False, "start failed"))  # the start failed
    assert display._display is None and "platform up" not in buf.getvalue()


REGION_OUTAGE = Experiment(
    title="primary region outage", description="", healthy=HealthyRule(consecutive=3, min_requests=3),
    method=(Action("kill-primary", "down", at=2.0, duration=10.0, link="ai-routing-engine->internal-ai.primary"),),
)


def _outage_samples(t0: float, seconds: int, fault: tuple[float, float], failover_after: float) -> pd.DataFrame:
    """20 req/s; during the fault requests fail until the backup region takes over `failover_after` s in."""
    ts = t0 + np.arange(seconds * 20) / 20
    in_fault = (ts >= fault[0]) & (ts < fault[1])
    failing = in_fault & (ts < fault[0] + failover_after)
    region = np.where(in_fault, np.where(failing, "", "europe-west1"), "us-central1")
    return pd.DataFrame({"ts": ts, "ok": ~failing, "latency_ms": 30.0, "region": region})


def test_the_game_day_display_shows_phase_failover_and_rates_per_region_from_the_events():
    console, buf = _console()
    events = Events()
    state = follow_gameday(events, console, REGION_OUTAGE, live=False)
    t0 = time.time() - 30
    samples = _outage_samples(t0, 25, (t0 + 2, t0 + 12), failover_after=3.0)
    tmp = Path("samples.arrow")  # never read: the display takes the rows each event carries
    events.stage_started.fire(StageStarted("gameday", None, tmp, 30.0))
    assert state.failover_text() == "failover: no fault yet"
    events.samples_flushed.fire(SamplesFlushed("gameday", tmp, 40, samples[samples["ts"] < t0 + 2]))
    events.fault_injected.fire(FaultInjected("kill-primary", "down", "ai-routing-engine->internal-ai.primary", ts=t0 + 2))
    assert state.phase_text().startswith("fault active") and state.phase_text().split()[2].endswith("/10")
    events.samples_flushed.fire(SamplesFlushed("gameday", tmp, 100, samples[(samples["ts"] >= t0 + 2) & (samples["ts"] < t0 + 4)]))
    assert state.failover_text() == "failover: not yet"  # 2 s of errors, no healthy run yet
    events.samples_flushed.fire(SamplesFlushed("gameday", tmp, 240, samples[(samples["ts"] >= t0 + 4) & (samples["ts"] < t0 + 12)]))
    assert state.faults[0].failover_s is not None and 2.5 <= state.faults[0].failover_s <= 4.0
    assert state.failover_text() == f"failover: {state.faults[0].failover_s:.1f} s"
    events.fault_removed.fire(FaultRemoved("kill-primary", "down", "ai-routing-engine->internal-ai.primary", "undone",
                                           ts=t0 + 12))
    events.samples_flushed.fire(SamplesFlushed("gameday", tmp, 500, samples[samples["ts"] >= t0 + 12]))
    assert state.phase_text().startswith("recovery")
    out = buf.getvalue()
    assert "fault injected: down ai-routing-engine->internal-ai.primary (kill-primary) for 10 s" in out
    assert "failover: " in out and "after kill-primary" in out
    assert "fault removed (undone)" in out and "recovered:" in out
    # failover and recovery found: only the rate window is kept, not the whole game day
    assert float(state.samples["ts"].min()) >= state.now() - 5.0 and len(state.samples) < len(samples) / 2
    rates = {r: (rate, err) for r, rate, err in region_rates(samples, t0 + 8.0)}
    assert set(rates) == {"europe-west1", "no answer"}  # us-central1 served nothing in the last 5 s
    assert rates["no answer"][1] == 1.0 and rates["europe-west1"][1] == 0.0


def test_the_final_lines_say_what_was_undone_and_which_stages_did_not_run():
    events = Events()
    tally = RollbackTally(events)
    events.weight_set.fire(WeightSet("ai-routing-engine", 10, "edge", "stage"))
    events.weight_set.fire(WeightSet("ai-routing-engine", 0, "edge", "rollback"))
    events.weight_set.fire(WeightSet("ai-routing-engine", 0, "edge", "restore"))
    events.fault_removed.fire(FaultRemoved("latency", "toxic", "edge->ai-routing-engine", "rolled-back"))
    events.run_finished.fire(RunFinished("r", "fail", 1, True, "x"))
    assert tally.lines(["50 %", "100 %"]) == [
        "undone: canary weight set back to 0 %, 1 fault removed (1 by the rollback)", "50 %: not run", "100 %: not run"]
    quiet = RollbackTally(Events())
    assert quiet.lines([]) == []


def test_without_the_live_display_each_stage_is_a_plain_line_when_it_starts_and_when_it_is_decided():
    console, buf = _console()
    events = Events()
    follow_stage_lines(events, console)
    events.stage_started.fire(StageStarted("10", 10, Path("s.arrow"), 70.0, 10.0))
    events.stage_finished.fire(StageFinished("10", "", 23.4))
    events.stage_started.fire(StageStarted("50", 50, Path("s.arrow"), 70.0, 10.0))
    events.stage_finished.fire(StageFinished("50", "", None))  # ran to its max: nothing decided early
    assert buf.getvalue().splitlines() == [
        "stage 10 %: started, 10 s warm-up + up to 60 s judged",
        "stage 10 %: the evidence decided after 23 s of load",
        "stage 50 %: started, 10 s warm-up + up to 60 s judged",
    ]


def test_live_displays_follow_each_other_without_a_listener_failing(caplog):
    """One rich Live at a time: the start line, then each stage's display; a clash would only be logged, so look."""
    buf = io.StringIO()
    console = Console(file=buf, width=120, force_terminal=True)
    events = Events()
    follow_gameday(events, console, REGION_OUTAGE, live=True)
    t0 = time.time()
    events.platform_progress.fire(StartProgress("starting", "", None, 0, 2))
    events.platform_progress.fire(StartProgress("ready", "toxiproxy", 0.3, 1, 2))
    events.stage_started.fire(StageStarted("steady-state", None, Path("a.arrow"), 4.0))  # the start never finished
    events.samples_flushed.fire(SamplesFlushed("steady-state", Path("a.arrow"), 40,
                                               _outage_samples(t0, 2, (t0 + 9, t0 + 9), 0.0)))
    events.stage_finished.fire(StageFinished("steady-state", "", None))
    events.stage_started.fire(StageStarted("gameday", None, Path("b.arrow"), 12.0))
    events.fault_injected.fire(FaultInjected("kill-primary", "down", "x", ts=t0))
    events.stage_finished.fire(StageFinished("gameday", "", None))
    events.run_finished.fire(RunFinished("r", "pass", 0, True, ""))
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text
    assert "us-central1" in buf.getvalue() and "fault active" in buf.getvalue()  # the last frames stay


def test_the_rollout_stage_table_stays_on_screen_after_the_stage(caplog, tmp_path):
    from harness.canary._live import follow_stages

    buf = io.StringIO()
    console = Console(file=buf, width=120, force_terminal=True)
    events = Events()
    follow_platform_start(events, console, live=True)
    follow_stages(events, console, ["10 % pass"])
    events.platform_progress.fire(StartProgress("starting", "", None, 0, 1))
    events.platform_progress.fire(StartProgress("ready", "edge", 0.5, 1, 1))
    events.stage_started.fire(StageStarted("50", 50, tmp_path / "none.arrow", 12.0, 2.0))
    events.stage_finished.fire(StageFinished("50", "", None))
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text
    out = buf.getvalue()
    assert "platform up: 1 process ready" in out
    assert "stage 50 %" in out.rsplit("platform up", 1)[1] and "verdicts so far: 10 % pass" in out
