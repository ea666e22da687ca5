"""What the platform reports about its processes: instances and the journal of actions."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from harness.topology._coldstart import ColdStart

__all__ = ["Event", "Instance"]


@dataclass(frozen=True)
class Event:
    """One process action, timestamped (epoch seconds) for the run journal."""

    ts: float
    action: str
    instance: str
    pid: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Instance:
    """A running (or external) instance as the rest of the harness sees it."""

    name: str
    kind: str
    revision: str
    region: str | None
    url: str
    proxies: list[str]
    pid: int | None = None
    create_time: float | None = None
    cold_start: ColdStart | None = None
    state: str = "running"  # running, killed, frozen, stopped, external

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["cold_start"] = self.cold_start.as_dict() if self.cold_start else None
        return d
