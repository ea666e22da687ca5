"""The experiment hook: something run inside each judged stage window (chaos).

A hook is any callable `hook(ctx: StageContext) -> StageExtras | None`. The
rollout runs it in a thread when the warm-up ends and joins it when the stage
ends; it must finish by `ctx.deadline` (or as soon as `ctx.stop` is set) and
must undo every fault it injected before returning. What it returns (fault
windows, journal entries, its own checks) is added to the stage's result.

`chaos_file_hook(path)` builds one from a chaos experiment file, validated
before anything starts against the topology in use: its method runs as a
fault timeline from the start of each judged window.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from harness._verdicts import Check
from harness.canary._stage import StageExtras
from harness.engine import PlatformHandle
from harness.report._model import Window

if TYPE_CHECKING:
    from harness.chaos import Action, Experiment, FaultTimeline, FaultWindow
    from harness.slo import SLO

__all__ = ["StageContext", "ExperimentHook", "chaos_file_hook"]


@dataclass(frozen=True)
class StageContext:
    """What a hook gets: the platform, the stage and its judged window."""

    platform: PlatformHandle
    """The running platform (embedded or attached)."""
    weight: int
    started_at: float
    """Epoch seconds at which the stage (warm-up included) started: chart time 0."""
    t0: float
    """Epoch seconds at which the judged window starts (the hook is started then)."""
    deadline: float
    """Epoch seconds by which the hook must have returned (end of the stage)."""
    stop: threading.Event
    """Set on Ctrl-C or when the stage is cut short: undo faults and return."""
    faults: Callable[[Sequence[Action], Sequence[Action]], FaultTimeline]
    """`Engine.faults`: a timeline the run rolls back on every stop path."""


ExperimentHook = Callable[[StageContext], "StageExtras | None"]


def chaos_file_hook(path: str | Path, *, slos: Sequence[SLO] | Mapping[str, SLO] | None = None,
                    topology: str | Path | None = None,
                    attach: str | Path | None = None) -> Callable[[StageContext], StageExtras]:
    """A hook that runs a chaos experiment file's method within each stage.

    The file is validated now, before anything runs, against the topology in
    use (`attach`'s state file, else `topology`) and the SLO names — the
    check `harness validate` and `harness gameday` make. `slos` (the run's
    SLOs) lets the stage judge the experiment as a game day would: its
    failover/recovery figures against its failover SLO and its window
    checks, over the stage's judged samples (`harness.chaos.judge_faults`).
    Without `slos` only the faults are run.
    """
    from harness.chaos import load_for_topology

    by_name: dict[str, SLO] = {}
    if slos is not None:
        by_name = dict(slos) if isinstance(slos, Mapping) else {s.name: s for s in slos}
    experiment = load_for_topology(Path(path), topology, list(by_name) if by_name else None, attach=attach)

    def hook(ctx: StageContext) -> StageExtras:
        timeline = ctx.faults(experiment.method, experiment.rollbacks)
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
        faults = timeline.fault_windows()

        def judge(samples: pd.DataFrame) -> list[Check]:
            from harness.chaos import judge_faults

            if not by_name or not faults:
                return []
            if experiment.failover_slo not in by_name and any(f.judge for f in faults):
                return []
            # judge_faults measures failover/recovery and evaluates the window checks
            # (`evaluate_window_checks`), exactly as a game day does, over the whole stage.
            _, checks = judge_faults(experiment, faults, samples, by_name, run_start=ctx.t0, run_end=ctx.deadline)
            if ctx.weight < 100:
                checks += _canary_failover(experiment, faults, samples, by_name, ctx)
            return checks

        return StageExtras(
            windows=windows,
            events=events,
            complete=not failures,
            incomplete_reason="; ".join(f"{e.action}: {e.error or e.undo_error}" for e in failures),
            judge=judge,
        )

    return hook


def _canary_failover(experiment: Experiment, faults: list[FaultWindow], samples: pd.DataFrame, slos: dict[str, SLO],
                     ctx: StageContext, canary: str = "canary") -> list[Check]:
    """Failover/recovery of the canary's own traffic (scope `revision=canary …`).

    Below 100 % the baseline carries most requests, so the whole stage can
    fail over while every canary request still waits out the dead region (a
    canary without its circuit breaker): only the canary's samples show it.
    The healthy rule needs `min_requests` per window, so when the canary's
    share of a fault window is under 1.5 times that (windows would fall short
    at random), the figure is
    INCONCLUSIVE (raise --rps) rather than a FAIL the data cannot support.
    """
    from dataclasses import replace

    from harness._verdicts import Verdict
    from harness.chaos import judge_faults

    mine = samples[samples["revision"] == canary]
    rule = experiment.healthy
    needed = 1.5 * rule.min_requests / rule.window
    thin: list[Check] = []
    for f in faults:
        if not f.judge:
            continue
        end = f.removed_at if f.removed_at is not None else ctx.deadline
        span = max(end - f.injected_at, rule.window)
        rate = int(((mine["ts"] >= f.injected_at) & (mine["ts"] < end)).sum()) / span
        if rate < needed:
            thin.append(Check(
                name=f"failover/{f.action}", verdict=Verdict.INCONCLUSIVE, value=None, objective=None, op="lt",
                unit="s", samples=int(rate * span), scope=f"revision={canary} {f.target}", kind="failover",
                detail=(f"the canary got {rate:.1f} req/s during the fault; judging its failover needs "
                        f">= {needed:g} req/s ({rule.describe()}): raise --rps"),
            ))  # fmt: skip
    if thin:
        return thin
    _, checks = judge_faults(experiment, faults, mine, slos, run_start=ctx.t0, run_end=ctx.deadline)
    return [replace(c, scope=f"revision={canary} {c.scope}") for c in checks if c.kind == "failover"]
