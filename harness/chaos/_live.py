"""Live progress of a game day in the terminal, as a listener of the run's events.

A game day runs quietly for a long time (steady state, then a fault that
lasts half a minute); this says where it is while it runs: the phase
(`steady state 4/10 s`, `fault active 12/30 s`, `recovery 5 s`), whether the
traffic has failed over yet (`not yet` / `3.1 s`, measured on the samples so
far with the experiment's own healthy rule, as the report will) and the
request rate and error ratio per answering region over the last 5 s.

    follow_gameday(engine.events, Console(stderr=True), experiment, live=True)

With `live=False` the same moments are plain lines (phase changes, failover,
fault removed), one each, for logs and CI.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import pandas as pd
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from harness.canary._live import follow_platform_start
from harness.chaos._experiment import Experiment, HealthyRule
from harness.chaos._failover import first_sustained_healthy
from harness.engine import Events, FaultInjected, FaultRemoved, SamplesFlushed, StageFinished, StageStarted

__all__ = ["GameDayProgress", "follow_gameday", "region_rates"]

RATE_WINDOW_S = 5.0
"""Seconds of samples the per-region rate and error ratio are taken over."""


def region_rates(samples: pd.DataFrame, now: float, window_s: float = RATE_WINDOW_S) -> list[tuple[str, float, float]]:
    """(region, req/s, error ratio) over the last `window_s` before `now`; requests nobody answered are `no answer`."""
    if samples.empty:
        return []
    ts = samples["ts"].astype(float)
    recent = samples[(ts > now - window_s) & (ts <= now)]
    out = []
    regions = recent["region"].astype(str).replace("", "no answer") if len(recent) else recent["region"]
    for region, group in recent.groupby(regions, sort=True):
        ok = group["ok"].astype(bool)
        out.append((str(region), len(group) / window_s, 1.0 - float(ok.mean())))
    return out


@dataclass
class _Fault:
    action: str
    target: str
    injected_at: float
    planned_s: float | None
    removed_at: float | None = None
    failover_s: float | None = None
    recovery_s: float | None = None


@dataclass
class GameDayProgress:
    """What the display shows, updated from the events (also usable without a terminal, e.g. in tests)."""

    experiment: Experiment
    phase: str = "starting"
    stage_started: float = 0.0
    stage_planned_s: float = 0.0
    faults: list[_Fault] = field(default_factory=list)
    samples: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def rule(self) -> HealthyRule:
        return self.experiment.healthy

    def planned(self, action: str) -> float | None:
        for a in self.experiment.method:
            if a.name == action:
                return a.duration
        return None

    def now(self) -> float:
        """The newest sample's time (the load's clock), else the wall clock."""
        return float(self.samples["ts"].max()) if len(self.samples) else time.time()

    def add(self, new: pd.DataFrame) -> list[str]:
        """Take new samples; returns the moments they revealed (a failover, a recovery) as lines."""
        cols = [c for c in ("ts", "ok", "latency_ms", "region") if c in new.columns]
        self.samples = pd.concat([self.samples, new[cols]], ignore_index=True) if len(self.samples) else new[cols].copy()
        said: list[str] = []
        now = self.now()
        for f in self.faults:
            if f.failover_s is None:
                end = f.removed_at if f.removed_at is not None else now
                f.failover_s = first_sustained_healthy(self.samples, f.injected_at, end, self.rule)
                if f.failover_s is not None:
                    said.append(f"failover: {f.failover_s:.1f} s after {f.action} ({f.target})")
            if f.removed_at is not None and f.recovery_s is None:
                f.recovery_s = first_sustained_healthy(self.samples, f.removed_at, now, self.rule)
                if f.recovery_s is not None:
                    said.append(f"recovered: {f.recovery_s:.1f} s after {f.action} ({f.target}) was removed")
        # keep what a pending failover or recovery still reads, and the rate window: bounded by the longest fault
        pending = [f.injected_at for f in self.faults if f.failover_s is None and f.removed_at is None]
        pending += [f.removed_at for f in self.faults if f.removed_at is not None and f.recovery_s is None]
        cutoff = min([now - RATE_WINDOW_S, *pending])
        if len(self.samples) and float(self.samples["ts"].min()) < cutoff:
            self.samples = self.samples[self.samples["ts"] >= cutoff].reset_index(drop=True)
        return said

    def phase_text(self) -> str:
        now = time.time()
        active = [f for f in self.faults if f.removed_at is None]
        if active:
            f = active[0]
            total = f"/{f.planned_s:.0f}" if f.planned_s else ""
            return f"fault active {now - f.injected_at:.0f}{total} s ({f.action})"
        if self.faults:
            last = max(f.removed_at or 0.0 for f in self.faults)
            return f"recovery {now - last:.0f} s"
        if self.phase == "steady-state":
            return f"steady state {now - self.stage_started:.0f}/{self.stage_planned_s:.0f} s"
        if self.phase == "gameday":
            return f"load {now - self.stage_started:.0f} s, before the first fault"
        return self.phase

    def failover_text(self) -> str:
        if not self.faults:
            return "failover: no fault yet"
        parts = []
        for f in self.faults:
            parts.append(f"{f.failover_s:.1f} s" if f.failover_s is not None else
                         "not yet" if f.removed_at is None else "never (fault removed)")
        return "failover: " + ", ".join(parts)

    def render(self) -> Group:
        head = Text.assemble(("game day ", "bold"), f"{self.phase_text()} · ", (self.failover_text(), "bold"))
        table = Table(box=None, pad_edge=False)
        for col in ("region", f"req/s (last {RATE_WINDOW_S:g} s)", "error ratio"):
            table.add_column(col, justify="left" if col == "region" else "right")
        for region, rate, err in region_rates(self.samples, self.now()):
            table.add_row(region, f"{rate:.1f}", f"{err:.2%}")
        return Group(head, table)


def follow_gameday(events: Events, console: Console, experiment: Experiment, *, live: bool = True) -> GameDayProgress:
    """Show the game day's progress (platform start, phase, failover, per-region rates) from its events."""
    follow_platform_start(events, console, live=live)
    state = GameDayProgress(experiment)
    lock = threading.Lock()
    shown: list[Live] = []

    def frame() -> Group:
        with lock:
            return state.render()

    def say(line: str) -> None:
        console.print(line, highlight=False, markup=False, soft_wrap=True)

    def started(e: StageStarted) -> None:
        with lock:
            state.phase, state.stage_started, state.stage_planned_s = e.name, e.ts, e.planned_s
        if e.name == "steady-state":
            say(f"steady state: {e.planned_s:.0f} s of load before any fault")
        elif e.name == "gameday":
            say(f"chaos: {e.planned_s:.0f} s of load with the fault timeline beside it")
        if live and not shown:
            display = Live(console=console, refresh_per_second=2, transient=False, get_renderable=frame)
            display.start()
            shown.append(display)

    def injected(e: FaultInjected) -> None:
        with lock:
            state.faults.append(_Fault(e.action, e.target, e.ts, state.planned(e.action)))
        planned = state.planned(e.action)
        say(f"fault injected: {e.kind} {e.target} ({e.action})" + (f" for {planned:g} s" if planned else ""))

    def removed(e: FaultRemoved) -> None:
        with lock:
            for f in state.faults:
                if f.action == e.action and f.removed_at is None:
                    f.removed_at = e.ts
        say(f"fault removed ({e.outcome}): {e.kind} {e.target} ({e.action})")

    def flushed(e: SamplesFlushed) -> None:
        if e.new is None or e.new.empty:
            return
        with lock:
            lines = state.add(e.new)
        for line in lines:
            say(line)

    def finished(e: StageFinished) -> None:
        while shown:
            shown.pop().stop()  # transient=False: the last frame stays on screen

    events.stage_started.add_listener(started)
    events.fault_injected.add_listener(injected)
    events.fault_removed.add_listener(removed)
    events.samples_flushed.add_listener(flushed)
    events.stage_finished.add_listener(finished)
    events.run_finished.add_listener(lambda e: finished(StageFinished("", "", None)))
    return state
