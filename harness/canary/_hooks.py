"""The experiment hook: something run inside each judged stage window (chaos).

A hook is any callable `hook(ctx: StageContext) -> StageExtras | None`. The
rollout runs it in a thread when the warm-up ends and joins it when the stage
ends; it must finish by `ctx.deadline` (or as soon as `ctx.stop` is set) and
must undo every fault it injected before returning. What it returns (fault
windows, journal entries, its own checks) is added to the stage's result.

`chaos_file_hook(path)` builds one from a chaos experiment file: its method
runs as a fault timeline from the start of each judged window.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.canary._stage import StageExtras
from harness.report._model import Window

__all__ = ["StageContext", "ExperimentHook", "chaos_file_hook"]


@dataclass(frozen=True)
class StageContext:
    """What a hook gets: the platform, the stage and its judged window."""

    platform: Any
    """The running `harness.topology.Platform` (or an attached one)."""
    weight: int
    started_at: float
    """Epoch seconds at which the stage (warm-up included) started: chart time 0."""
    t0: float
    """Epoch seconds at which the judged window starts (the hook is started then)."""
    deadline: float
    """Epoch seconds by which the hook must have returned (end of the stage)."""
    stop: threading.Event
    """Set on Ctrl-C or when the stage is cut short: undo faults and return."""
    samples_file: Path


ExperimentHook = Callable[[StageContext], "StageExtras | None"]


def chaos_file_hook(path: str | Path, *, slos: Any = None) -> Callable[[StageContext], StageExtras]:
    """A hook that runs a chaos experiment file's method within each stage.

    The file is validated now (before anything runs); links and processes are
    checked against the platform when the hook first runs.
    """
    from harness.chaos._experiment import load_experiment
    from harness.chaos._timeline import FaultTimeline

    load_experiment(path)  # fail fast on an invalid file

    def hook(ctx: StageContext) -> StageExtras:
        platform = ctx.platform
        links = list(platform.links()) if callable(getattr(platform, "links", None)) else None
        experiment = load_experiment(path, links=links, processes=list(platform.instances))
        timeline = FaultTimeline(experiment.method, toxiproxy=platform.toxiproxy, platform=platform,
                                 rollbacks=experiment.rollbacks)
        timeline.start(ctx.t0)
        try:
            while time.time() < ctx.deadline and not ctx.stop.wait(0.25):
                pass
        finally:
            timeline.stop()
            timeline.rollback()
        windows, events = [], []
        for entry in timeline.journal:
            if entry.started_at is None:
                continue
            start = entry.started_at - ctx.started_at
            if entry.ended_at is not None and entry.ended_at > entry.started_at:
                windows.append(Window(start, entry.ended_at - ctx.started_at, f"{entry.action}: {entry.kind} {entry.target}"))
            events.append({"t": start, "label": f"{entry.action} {entry.kind} {entry.target} → {entry.outcome}"})
        failures = timeline.failures
        return StageExtras(
            windows=windows,
            events=events,
            complete=not failures,
            incomplete_reason="; ".join(f"{e.action}: {e.error or e.undo_error}" for e in failures),
        )

    return hook
