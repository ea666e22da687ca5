"""The host's CPU over a window: what tells a starved load generator from a slow platform."""

from __future__ import annotations

import os
from typing import Any

__all__ = ["HostCPU", "busy_percent"]


def busy_percent(start: Any, end: Any, *, nice_yields: bool) -> float | None:
    """Busy share of every core between two `psutil.cpu_times()` snapshots, 0–100; None for no time.

    With `nice_yields`, time spent by positively-niced processes counts as
    available: the scheduler hands it to normal-priority work on demand.
    """

    def idle(times: Any) -> float:
        spare = float(times.idle + getattr(times, "iowait", 0.0))
        return spare + float(getattr(times, "nice", 0.0)) if nice_yields else spare

    total = float(sum(end) - sum(start))
    if total <= 0:
        return None
    return max(0.0, min(100.0, 100.0 * (1.0 - (idle(end) - idle(start)) / total)))


class HostCPU:
    """The host's CPU busy share since construction, from `/proc/stat` (psutil): 100 % is every core busy.

    Time spent by positively-niced processes (a backup, a build, another job
    asked to yield) is counted as available when the harness itself runs at
    normal priority: the scheduler gives it to the run whenever the run wants
    it, so it starves neither the generator nor the platform. A harness that
    was itself started under `nice` competes with that work, and counts it.
    """

    def __init__(self) -> None:
        import psutil

        self._start = psutil.cpu_times()
        self._nice_yields = os.getpriority(os.PRIO_PROCESS, 0) <= 0

    def percent(self) -> float | None:
        import psutil

        return busy_percent(self._start, psutil.cpu_times(), nice_yields=self._nice_yields)
