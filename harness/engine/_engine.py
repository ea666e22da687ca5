"""`Engine`: one run on one platform — load, faults, traffic — rolled back on every stop path.

    engine = Engine("rollout", run_id, run_dir, LoadSettings(), events=Events())
    with engine.session(Platform.up(topology), finish=save_report) as platform:
        engine.set_weight(10, reason="stage")
        timeline = engine.faults(experiment.method, experiment.rollbacks)
        timeline.start()
        load = engine.run_load("stage-10", run_dir / "stage-10", duration_s=60, rps=200)

A rollout and a game day are two ways of driving it. Whatever ends the
session — the body returning, an exception, SIGINT, SIGTERM, SIGHUP, a second
signal during cleanup — the same rollback runs, in this order: every fault
timeline stopped and rolled back (toxics removed, links re-enabled, frozen
processes thawed, killed ones restarted), the router restored to the split it
found, the platform closed (the embedded one torn down, an attached one left
running), then `finish(error)` writes the (partial) report. Locust is stopped
by `run_load` itself on the way out. A stop signal then leaves as `Stopped`
(exit 130/143/129).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from harness._exceptions import HarnessError
from harness._verdicts import Check
from harness.engine._events import (
    CheckJudged,
    Events,
    FaultInjected,
    FaultRemoved,
    PlatformAction,
    RunStarted,
    SamplesFlushed,
    StageFinished,
    StageStarted,
    WeightSet,
)
from harness.engine._load import LoadSettings, integrity_check
from harness.engine._platform import PlatformHandle
from harness.engine._tail import SampleTail
from harness.topology._process import StopState, Stopped, stop_signals

if TYPE_CHECKING:
    from harness.chaos._experiment import Action
    from harness.chaos._timeline import FaultTimeline, JournalEntry
    from harness.load import LocustRun
    from harness.monitoring import MonitoringExporter
    from harness.routers import TrafficRouter, TrafficSplit
    from harness.slo import SLO
    from harness.topology import ColdStart, Event

__all__ = ["Engine", "LoadOutcome", "Look"]

LOCUST_STARTUP_S = 3.0
"""Locust's `-t` counts from its own start (after its imports, seconds on a loaded machine):
every load runs this much longer so it covers the whole window the run judges."""

WORKERS_STARTUP_S = 3.0
"""With workers, the master waits for every worker to import Locust and connect before any
user starts (~2 s later than one process on 2 cores): loads with workers run this much longer."""

Look = Callable[[pd.DataFrame], bool]
"""Called with every sample so far, every few seconds while load runs; True stops the load (decided)."""


@dataclass(frozen=True)
class LoadOutcome:
    """One finished load: Locust's run, every sample, and the load's own integrity check."""

    run: LocustRun
    samples: pd.DataFrame
    integrity: Check


class Engine:
    """Owns one run's platform session, events, faults and load; see the module docstring.

    **Parameters:**

    * `kind` — `rollout`, `gameday`, … (carried by `run_started`).
    * `run_id`, `run_dir` — where the run's files go.
    * `load` — the load settings every `run_load` uses.
    * `events` — the run's registry (a fresh one by default); the engine's
      own journal is a listener on it.
    * `exporter` — a `harness.monitoring.MonitoringExporter` for the live
      export while load runs (`load.monitoring_interval`), or None.
    """

    def __init__(self, kind: str, run_id: str, run_dir: Path, load: LoadSettings, *,
                 events: Events | None = None, exporter: MonitoringExporter | None = None,
                 slos: Sequence[SLO] = ()) -> None:
        self.kind, self.run_id, self.run_dir, self.load = kind, run_id, run_dir, load
        self.events = events or Events()
        self.journal: list[tuple[float, str]] = []
        """(epoch seconds, label) of every weight change, fault, deploy: the run's own journal."""
        self.exporter, self.slos = exporter, list(slos)
        self._platform: PlatformHandle | None = None
        self._timelines: list[FaultTimeline] = []
        self._undo: list[Callable[[], None]] = []
        self._routed = False
        self._stops: StopState | None = None
        self._kept: tuple[list[Event], list[ColdStart]] | None = None
        self.router_override: TrafficRouter | None = None
        """A router of the run's own (Cloud Run, a command) instead of the platform's edge."""
        _journal_listeners(self)

    # ------------------------------------------------------------------ the session
    @property
    def platform(self) -> PlatformHandle:
        if self._platform is None:
            raise HarnessError("the engine has no platform outside `session()`")
        return self._platform

    @contextlib.contextmanager
    def session(self, platform: contextlib.AbstractContextManager[PlatformHandle],
                finish: Callable[[BaseException | None], None]) -> Iterator[PlatformHandle]:
        """Bring up (or attach to) `platform`, yield it, and always roll back, close and `finish`."""
        with stop_signals() as stops:
            self._stops = stops
            error: BaseException | None = None
            try:
                self.events.run_started.fire(RunStarted(self.run_id, self.kind, self.run_dir))
                with _shielded_exit(platform, stops) as handle:
                    self._platform = handle
                    try:
                        yield handle
                    finally:
                        with stops.shielded():
                            self.rollback()
                            self._keep_records()
            except BaseException as exc:
                error = exc
                raise
            finally:
                with stops.shielded():
                    finish(error)
            if stops.held:  # a signal arrived during the final cleanup of a run that otherwise ended
                raise Stopped(stops.held[0])

    @property
    def startup_s(self) -> float:
        """How much longer than asked every load runs, so it covers the whole window a run judges."""
        return LOCUST_STARTUP_S + (WORKERS_STARTUP_S if self.load.workers else 0.0)

    @property
    def routed(self) -> bool:
        """Whether this run changed the traffic split (and so restores it on the way out)."""
        return self._routed

    def on_rollback(self, undo: Callable[[], None]) -> None:
        """Also run `undo` when the session rolls back (every stop path, signals held off).

        For faults the engine did not inject itself, e.g. a Chaos Toolkit
        experiment's toxics. `undo` must be idempotent; a `HarnessError` from it
        is journaled, and the rest of the rollback still runs.
        """
        self._undo.append(undo)

    def rollback(self) -> None:
        """Undo every fault and put the traffic split back; idempotent, never raises."""
        for timeline in self._timelines:
            timeline.stop()
            timeline.rollback()
        for undo in self._undo:
            try:
                undo()
            except HarnessError as exc:
                self.journal.append((time.time(), f"rollback failed: {exc}"))
        if self._routed and self._platform is not None:
            router = self.router_override or self._platform.router
            try:
                router.restore()
                split = router.current()
                self.events.weight_set.fire(WeightSet(split.service, split.canary_percent, router.describe(), "restore"))
            except HarnessError as exc:
                self.journal.append((time.time(), f"traffic restore failed: {exc}"))

    def _keep_records(self) -> None:
        """Copy the platform's journal and cold starts before it closes (an attached one stops answering)."""
        try:
            self._kept = (list(self.platform.events), list(self.platform.cold_starts))
        except HarnessError as exc:
            self._kept = ([], [])
            self.journal.append((time.time(), f"platform journal unavailable: {exc}"))

    def platform_records(self) -> tuple[list[Event], list[ColdStart]]:
        """The platform's journal and cold starts: live during the session, as kept after it."""
        if self._kept is not None:
            return self._kept
        return list(self.platform.events), list(self.platform.cold_starts)

    # ------------------------------------------------------------------ what a run does
    def set_weight(self, percent: int, *, reason: str) -> TrafficSplit:
        """Route `percent` % of the canary service's traffic to its canary; restored on the way out."""
        router = self.router_override or self.platform.router
        self._routed = True
        split = router.set_canary_percent(percent)
        self.events.weight_set.fire(WeightSet(split.service, split.canary_percent, router.describe(), reason))
        return split

    def deploy(self, instance: str) -> ColdStart:
        """(Re)start `instance` alone on the running platform, as a revision deploy does."""
        cold = self.platform.restart(instance)
        self.events.platform_action.fire(PlatformAction("deploy", instance, f"ready in {cold.ready_s:.2f} s"))
        return cold

    def faults(self, actions: Sequence[Action], rollbacks: Sequence[Action] = ()) -> FaultTimeline:
        """A fault timeline on this platform, rolled back with the session (start it yourself)."""
        from harness.chaos._timeline import FaultTimeline

        timeline = FaultTimeline(actions, toxiproxy=self.platform.toxiproxy, platform=self.platform,
                                 rollbacks=rollbacks, on_change=self._fault_changed)
        self._timelines.append(timeline)
        return timeline

    def _fault_changed(self, entry: JournalEntry) -> None:
        if entry.outcome == "injected":
            self.events.fault_injected.fire(FaultInjected(entry.action, entry.kind, entry.target))
        elif entry.outcome in ("undone", "rolled-back", "failed"):
            self.events.fault_removed.fire(FaultRemoved(entry.action, entry.kind, entry.target, entry.outcome))

    def judged(self, stage: str, checks: Sequence[Check], *, final: bool = True) -> None:
        """Tell the listeners about a stage's checks."""
        for check in checks:
            self.events.check_judged.fire(CheckJudged(stage, check, final))

    def run_load(self, stage: str, out_dir: Path, *, duration_s: float, rps: float, weight: int | None = None,
                 warmup_s: float = 0.0, look: Look | None = None, look_every_s: float = 2.0) -> LoadOutcome:
        """Run Locust for `duration_s` (+ `startup_s`) at `rps` and collect its samples.

        Bounded, and stopped on every exit path (SIGTERM included).

        While it runs, new sample batches are read about once a second
        (`samples_flushed`); with `look`, every `look_every_s` it gets every
        sample so far and may stop the load early by returning True.
        """
        from harness.load import LocustConfig, run_locust
        from harness.samples import empty_samples, read_samples

        cfg = LocustConfig(locustfile=self.load.locustfile, host=self.platform.edge_url, out_dir=out_dir,
                           users=self.load.users_for(rps), run_time_s=duration_s + self.startup_s, rps=rps,
                           api_key=self.platform.api_key, slo_dir=self.load.slo_dir,
                           min_samples=self.load.min_samples, workers=self.load.workers)
        tail = SampleTail(cfg.samples_file)
        next_look = [time.monotonic() + look_every_s]

        def poll() -> bool:
            new = tail.read_new()
            if new:
                self.events.samples_flushed.fire(
                    SamplesFlushed(stage, cfg.samples_file, tail.rows, tail.frame.iloc[tail.rows - new:]))
            if look is None or time.monotonic() < next_look[0]:
                return False
            next_look[0] = time.monotonic() + look_every_s
            return look(tail.frame)

        self.events.stage_started.fire(StageStarted(stage, weight, cfg.samples_file, duration_s, warmup_s))
        decided: float | None = None
        try:
            with self._live_export(stage, cfg.samples_file):
                run = run_locust(cfg, poll=poll)
            decided = run.finished - run.started if run.stopped_early else None
        finally:
            self.events.stage_finished.fire(StageFinished(stage, "", decided))
        samples = read_samples(cfg.samples_file) if cfg.samples_file.exists() else empty_samples()
        return LoadOutcome(run, samples, integrity_check(run, len(samples), self.load.workers))

    def _live_export(self, stage: str, samples: Path) -> contextlib.AbstractContextManager[object]:
        """Live snapshots to Cloud Monitoring while Locust runs (`--monitoring-interval`), else nothing."""
        exporter, interval = self.exporter, self.load.monitoring_interval
        if exporter is None or not exporter.enabled or interval <= 0:
            return contextlib.nullcontext()
        from harness.monitoring import samples_snapshot

        return exporter.live(samples_snapshot(samples, self.slos, min_samples=self.load.min_samples),
                             interval=interval, run_id=self.run_id, stage=stage,
                             scenario=self.load.locustfile.stem, kind=self.kind)

    def report_events(self, start: float, end: float | None = None) -> list[dict[str, object]]:
        """The journal between `start` and `end` as report events (`t` from `start`), platform actions merged."""
        rows = list(self.journal)
        with contextlib.suppress(HarnessError):
            events, _ = self.platform_records()
            rows += [(e.ts, f"{e.action} {e.instance}") for e in events if e.action != "canary-weight"]
        stop = end if end is not None else float("inf")
        return [{"t": round(ts - start, 3), "label": label} for ts, label in sorted(rows) if start - 1.0 <= ts <= stop]


def _journal_listeners(engine: Engine) -> None:
    """The engine's journal is one listener per event, like any other."""
    ev, add = engine.events, engine.journal.append
    ev.weight_set.add_listener(lambda e: add((e.ts, f"{e.reason}: {e.service} canary weight {e.percent} %")))
    ev.fault_injected.add_listener(lambda e: add((e.ts, f"injected {e.kind} {e.target} ({e.action})")))
    ev.fault_removed.add_listener(lambda e: add((e.ts, f"{e.outcome} {e.kind} {e.target} ({e.action})")))
    ev.platform_action.add_listener(lambda e: add((e.ts, f"{e.action} {e.instance} {e.detail}".strip())))


@contextlib.contextmanager
def _shielded_exit(cm: contextlib.AbstractContextManager[PlatformHandle], stops: StopState) -> Iterator[PlatformHandle]:
    """Enter `cm`; leave it (teardown) with stop signals held, so a second one cannot cut it short."""
    handle = cm.__enter__()
    try:
        yield handle
    except BaseException as exc:
        with stops.shielded():
            if not cm.__exit__(type(exc), exc, exc.__traceback__):
                raise
    else:
        with stops.shielded():
            cm.__exit__(None, None, None)
