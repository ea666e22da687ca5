"""What the platform reports about its processes: instances, the journal of actions, the canary route."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from harness.topology._coldstart import ColdStart

if TYPE_CHECKING:
    from harness.topology._model import Topology

__all__ = ["CanaryRoute", "Event", "Instance"]


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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        """Inverse of `as_dict` (an attached platform's journal arrives as JSON)."""
        return cls(float(data["ts"]), str(data["action"]), str(data["instance"]),
                   None if data.get("pid") is None else int(data["pid"]), dict(data.get("detail") or {}))


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
    cache: str | None = None
    """The response cache it was started with: `redis` (shared by both revisions), `in-process`, or None."""

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["cold_start"] = self.cold_start.as_dict() if self.cold_start else None
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Instance:
        """Inverse of `as_dict`."""
        fields = dict(data)
        cold = fields.get("cold_start")
        fields["cold_start"] = ColdStart(**cold) if isinstance(cold, dict) else None
        fields["proxies"] = list(fields.get("proxies") or [])
        return cls(**fields)


@dataclass(frozen=True)
class CanaryRoute:
    """Which service a rollout shifts, its two instances, and the instance that routes it.

    Taken from the topology (the one service declaring `canary:`), recorded in
    the state file, so an attached platform routes the same service as the
    embedded one would.
    """

    service: str
    baseline: str
    canary: str
    router: str
    """The instance whose `/admin/traffic` splits the service's traffic (its caller, usually the entry)."""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_topology(cls, topology: Topology) -> CanaryRoute | None:
        """The route of the topology's only canary; None when it declares none (or several)."""
        canaries = [s.name for s in topology.services.values() if s.canary is not None]
        if len(canaries) != 1:
            return None
        service = canaries[0]
        callers = [s.name for s in topology.services.values() if service in s.upstreams]
        router = topology.entry if topology.entry in callers or not callers else callers[0]
        return cls(service, service, f"{service}@canary", router)
