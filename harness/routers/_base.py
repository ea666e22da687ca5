"""The traffic-router seam: set the canary's share, and always put it back.

A router remembers the split it found on its first `current()`/`set_canary_percent`
so that `restore()` (called on every stop path: pass, rollback, Ctrl-C,
SIGTERM, an exception) puts back exactly what was there before the run, not a
guessed 0 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["TrafficRouter", "TrafficSplit"]


@dataclass(frozen=True)
class TrafficSplit:
    """Who gets which share of one service's traffic (percentages summing to 100)."""

    service: str
    baseline: str
    canary: str
    canary_percent: int

    @property
    def baseline_percent(self) -> int:
        return 100 - self.canary_percent


@runtime_checkable
class TrafficRouter(Protocol):
    """Shifts traffic between a baseline and a canary revision of one service."""

    def describe(self) -> str:
        """One line for logs and reports: what is routed, and how."""
        ...

    def current(self) -> TrafficSplit:
        """The split in force now (read from the router, not remembered)."""
        ...

    def set_canary_percent(self, percent: int) -> TrafficSplit:
        """Route `percent` (0-100) of traffic to the canary; return the split once in force."""
        ...

    def restore(self) -> None:
        """Put back the split found before the first change; idempotent, safe on every stop path."""
        ...
