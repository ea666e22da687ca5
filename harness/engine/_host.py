"""The host's CPU over a window: what tells a starved load generator from a slow platform."""

from __future__ import annotations

__all__ = ["HostCPU"]


class HostCPU:
    """The host's CPU busy share since construction, from `/proc/stat` (psutil): 100 % is every core busy."""

    def __init__(self) -> None:
        import psutil

        self._start = psutil.cpu_times()

    def percent(self) -> float | None:
        import psutil

        now = psutil.cpu_times()
        total = sum(now) - sum(self._start)
        idle = (now.idle + getattr(now, "iowait", 0.0)) - (self._start.idle + getattr(self._start, "iowait", 0.0))
        return None if total <= 0 else max(0.0, min(100.0, 100.0 * (1.0 - idle / total)))
