"""Memory over the whole soak: RSS of the harness's own processes, and a leak verdict per process.

The platform's services are sampled by the platform itself
(`PlatformHandle.resource_samples()`); the harness's processes — this
orchestrator and the Locust master and workers, found as its children — are
sampled here, as seldom as a slope needs (≤ ~720 rows per process, whatever
the duration). Both are judged with the topology's estimator
(`harness.topology.memory_growth`, a Theil-Sen slope after a warm-up) and the
canary stage's rule: a leak is a lower 95 % slope bound that would reach the
512 MiB budget within an hour.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import pandas as pd
import psutil

from harness._verdicts import Check, Verdict
from harness.topology import MEMORY_BUDGET_BYTES, ResourceSampler, memory_growth

__all__ = ["HARNESS_INSTANCES", "harness_pids", "harness_sampler", "leak_checks", "slopes"]

MIB = 2**20
HOUR = 3600.0
#: Platform-sampled instances that are the harness's, not the platform's.
HARNESS_INSTANCES = ("toxiproxy",)


def harness_pids() -> dict[str, int]:
    """This orchestrator and its Locust processes (master `locust`, workers `locust-worker-N`)."""
    me = psutil.Process(os.getpid())
    pids = {"orchestrator": me.pid}
    workers = 0
    try:
        children = me.children(recursive=True)
    except psutil.Error:
        return pids
    for child in children:
        try:
            cmdline = child.cmdline()
        except psutil.Error:
            continue
        if "locust" not in cmdline:
            continue
        if "--worker" in cmdline:
            pids[f"locust-worker-{workers}"] = child.pid
            workers += 1
        else:
            pids["locust"] = child.pid
    return pids


def harness_sampler(duration_s: float) -> ResourceSampler:
    """A sampler of `harness_pids()`, one row per process every max(1 s, duration / 720)."""
    return ResourceSampler(harness_pids, interval=max(1.0, duration_s / 720.0))


def slopes(frame: pd.DataFrame, *, warmup_s: float) -> dict[str, dict[str, float | int | bool | None]]:
    """Per process: RSS slope in MiB/h (and its lower 95 % bound), last RSS in MiB, samples."""
    return {g.instance: {"slope_mib_per_h": g.slope_bytes_per_s * HOUR / MIB,
                         "slope_low_mib_per_h": g.slope_low_bytes_per_s * HOUR / MIB,
                         "rss_last_mib": g.rss_last_bytes / MIB, "samples": g.samples,
                         "leak_suspected": g.leak_suspected}
            for g in memory_growth(frame, warmup_s=warmup_s)}  # fmt: skip


def leak_checks(frame: pd.DataFrame, *, warmup_s: float, harness: bool, only: Iterable[str] | None = None) -> list[Check]:
    """One check per process: `memory-leak` (the platform's) or `harness-memory` (the instrument's own).

    A platform process FAILs when over the 512 MiB budget or when even the
    slope's lower 95 % bound would reach it within an hour. A harness process
    that grows like that makes the soak INCONCLUSIVE instead: the instrument,
    not the platform, is what leaked, and it may have perturbed the run.
    """
    if frame.empty:
        return []
    wanted = set(only) if only is not None else None
    checks = []
    for g in memory_growth(frame, warmup_s=warmup_s):
        if wanted is not None and g.instance not in wanted:
            continue
        allowed = max(1024.0, (MEMORY_BUDGET_BYTES - g.rss_last_bytes) / HOUR) * HOUR / MIB
        low, slope = g.slope_low_bytes_per_s * HOUR / MIB, g.slope_bytes_per_s * HOUR / MIB
        grew = g.over_budget or (g.samples >= 3 and low > allowed)
        verdict = Verdict.PASS if not grew else (Verdict.INCONCLUSIVE if harness else Verdict.FAIL)
        who = "the harness's own process" if harness else "platform process"
        detail = (f"{who}: RSS slope {slope:+.1f} MiB/h (lower 95 % bound {low:+.1f}) over {g.samples} samples after "
                  f"{warmup_s:.0f} s of warm-up, last {g.rss_last_bytes / MIB:.0f} MiB; a leak is a bound that would "
                  f"reach the 512 MiB budget within 1 h ({allowed:.0f} MiB/h from here)")
        if g.samples < 3:
            verdict, detail = Verdict.INCONCLUSIVE, f"{who}: {g.samples} RSS samples after warm-up, no slope"
        checks.append(Check(
            name="harness-memory" if harness else "memory-leak", verdict=verdict, value=low, objective=allowed,
            op="lte", unit="MiB/h", samples=g.samples,
            scope=f"{'process' if harness else 'instance'}={g.instance}", kind="resource", detail=detail,
            extra={**g.as_dict(), "slope_mib_per_h": slope, "slope_low_mib_per_h": low},
        ))  # fmt: skip
    return checks
