"""The run's typed event registry: one hook per lifecycle event, each with a dataclass payload.

    events = Events()
    events.weight_set.add_listener(lambda e: print(e.service, e.percent))
    engine = Engine(settings, events=events)

Modelled on Locust's `Environment.events` (`EventHook.add_listener`/`fire`),
with two changes: every hook carries one typed payload instead of `**kwargs`,
and the registry belongs to the run (passed in), never to a module global. A
listener that raises is logged and skipped; the run and the other listeners
carry on. The journal, the live display and the Cloud Monitoring live export
are listeners like any other.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from harness._verdicts import Check

if TYPE_CHECKING:
    import pandas as pd

    from harness.topology._platform import StartProgress

__all__ = [
    "CheckJudged", "EventHook", "Events", "FaultInjected", "FaultRemoved", "PlatformAction", "RunFinished",
    "RunStarted", "SamplesFlushed", "StageFinished", "StageStarted", "WeightSet",
]

log = logging.getLogger("harness.engine")
P = TypeVar("P")


class EventHook(Generic[P]):
    """Listeners of one event; `fire(payload)` calls each in the order added."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._listeners: list[Callable[[P], None]] = []

    def add_listener(self, listener: Callable[[P], None]) -> Callable[[P], None]:
        """Register `listener` (returned, so this works as a decorator)."""
        self._listeners.append(listener)
        return listener

    def remove_listener(self, listener: Callable[[P], None]) -> None:
        self._listeners.remove(listener)

    def fire(self, payload: P) -> None:
        """Call every listener; one that raises is logged and the rest still run."""
        for listener in list(self._listeners):
            try:
                listener(payload)
            except Exception:  # noqa: BLE001 - a faulty listener must not stop a run (or its rollback)
                log.exception("listener %r of %s failed", listener, self.name)


@dataclass(frozen=True)
class RunStarted:
    run_id: str
    kind: str
    """`rollout`, `gameday`, … (the kind of run driving the engine)."""
    run_dir: Path
    ts: float = field(default_factory=time.time)


@dataclass(frozen=True)
class StageStarted:
    name: str
    """`stage-10`, `steady-state`, `chaos`, …"""
    weight: int | None
    """Canary share during the stage (None: not a canary stage)."""
    samples: Path
    """Where the stage's samples are being written."""
    planned_s: float
    """Longest the load runs (warm-up included)."""
    warmup_s: float = 0.0
    ts: float = field(default_factory=time.time)


@dataclass(frozen=True)
class WeightSet:
    service: str
    percent: int
    router: str
    """`TrafficRouter.describe()` of the router that applied it."""
    reason: str = ""
    """`stage`, `rollback`, `restore`, …"""
    ts: float = field(default_factory=time.time)


@dataclass(frozen=True)
class FaultInjected:
    action: str
    kind: str
    target: str
    ts: float = field(default_factory=time.time)


@dataclass(frozen=True)
class FaultRemoved:
    action: str
    kind: str
    target: str
    outcome: str
    """`undone` (on schedule), `rolled-back` (by the rollback), `failed`."""
    ts: float = field(default_factory=time.time)


@dataclass(frozen=True)
class PlatformAction:
    action: str
    """`kill`, `restart`, `freeze`, `thaw`, `deploy`."""
    instance: str
    detail: str = ""
    ts: float = field(default_factory=time.time)


@dataclass(frozen=True)
class SamplesFlushed:
    stage: str
    path: Path
    rows: int
    """Rows read so far from the stage's samples file."""
    new: pd.DataFrame | None = None
    """The rows read since the previous event (listeners need not re-read the file)."""
    ts: float = field(default_factory=time.time)


@dataclass(frozen=True)
class CheckJudged:
    stage: str
    check: Check
    final: bool
    """False while the stage still runs (an interim look of the sequential loop)."""
    ts: float = field(default_factory=time.time)


@dataclass(frozen=True)
class StageFinished:
    name: str
    verdict: str
    decided_after_s: float | None
    """Seconds of judged time after which the evidence decided (None: it never did)."""
    ts: float = field(default_factory=time.time)


@dataclass(frozen=True)
class RunFinished:
    run_id: str
    verdict: str
    exit_code: int
    complete: bool
    reason: str
    ts: float = field(default_factory=time.time)


class Events:
    """Every event of one run; each attribute is an `EventHook` of one payload type."""

    def __init__(self) -> None:
        self.run_started: EventHook[RunStarted] = EventHook("run_started")
        """The run has a directory and an id; nothing has started yet."""
        self.platform_progress: EventHook[StartProgress] = EventHook("platform_progress")
        """The embedded platform is starting: once with the number of processes, then one per process ready."""
        self.stage_started: EventHook[StageStarted] = EventHook("stage_started")
        """A stage (a canary weight, a game day's steady state or chaos phase) begins."""
        self.weight_set: EventHook[WeightSet] = EventHook("weight_set")
        """The router now sends `percent` % of `service` to its canary."""
        self.fault_injected: EventHook[FaultInjected] = EventHook("fault_injected")
        """A fault (toxic, disabled link, killed or frozen process) is active."""
        self.fault_removed: EventHook[FaultRemoved] = EventHook("fault_removed")
        """A fault was undone, on schedule or by the rollback."""
        self.platform_action: EventHook[PlatformAction] = EventHook("platform_action")
        """A process action the run took itself (a canary deploy)."""
        self.samples_flushed: EventHook[SamplesFlushed] = EventHook("samples_flushed")
        """New sample rows were read while a stage runs (every couple of seconds)."""
        self.check_judged: EventHook[CheckJudged] = EventHook("check_judged")
        """A check got a verdict (interim while the stage runs, final at its end)."""
        self.stage_finished: EventHook[StageFinished] = EventHook("stage_finished")
        """A stage's load has stopped and its final checks are judged."""
        self.run_finished: EventHook[RunFinished] = EventHook("run_finished")
        """The run is over (passed, failed, stopped); its report is saved."""
