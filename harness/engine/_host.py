"""The host's CPU over a window: what tells a starved load generator or a contended host from a slow platform."""

from __future__ import annotations

import time
from pathlib import Path

__all__ = ["HostCPU", "cpu_pressure_total_us"]

#: Linux pressure-stall information for CPU (kernel ≥ 4.20 with PSI on).
PSI_CPU = Path("/proc/pressure/cpu")


def cpu_pressure_total_us(path: Path = PSI_CPU) -> int | None:
    """Microseconds, since boot, during which at least one runnable task waited for a CPU (PSI `some`)."""
    try:
        for line in path.read_text().splitlines():
            if line.startswith("some "):
                fields = dict(part.split("=", 1) for part in line.split()[1:])
                return int(fields["total"])
    except (OSError, ValueError, KeyError):
        return None
    return None


class HostCPU:
    """The host's CPU since construction: how busy (`/proc/stat`) and how contended (PSI).

    Busy share alone misses contention: at 89 % busy on 2 cores a healthy
    canary's p95 was 181 ms, because requests queued for a CPU on every hop.
    PSI `some` says what share of wall time some runnable task waited.
    """

    def __init__(self) -> None:
        import psutil

        self._start = psutil.cpu_times()
        self._wall = time.monotonic()
        self._stall = cpu_pressure_total_us()

    def percent(self) -> float | None:
        import psutil

        now = psutil.cpu_times()
        total = sum(now) - sum(self._start)
        idle = (now.idle + getattr(now, "iowait", 0.0)) - (self._start.idle + getattr(self._start, "iowait", 0.0))
        return None if total <= 0 else max(0.0, min(100.0, 100.0 * (1.0 - idle / total)))

    def pressure(self) -> float | None:
        """Percent of wall time since construction during which some runnable task waited for a CPU (None: no PSI)."""
        stall = cpu_pressure_total_us()
        wall = time.monotonic() - self._wall
        if stall is None or self._stall is None or wall <= 0:
            return None
        return max(0.0, min(100.0, 100.0 * (stall - self._stall) / 1e6 / wall))
