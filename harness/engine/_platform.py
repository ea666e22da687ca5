"""`PlatformHandle`: what a run needs from a platform, and nothing more.

The embedded `harness.topology.Platform` (processes this run owns) and
`harness.topology.AttachedPlatform` (a platform a supervisor owns, reached
through its state file) both implement it with the same return types, so the
engine, the fault timeline and the experiment hooks never guess what they
hold. A new kind of platform (revisions built from git refs, a deployed one
behind Cloud Run's traffic split) is one new class with these members.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pandas as pd

    from harness.routers import TrafficRouter
    from harness.topology import CanaryRoute, ColdStart, Event, Instance
    from harness.toxiproxy import ToxiproxyClient

__all__ = ["PlatformHandle"]


@runtime_checkable
class PlatformHandle(Protocol):
    """A running platform as one run drives it.

    Process actions return the journal `Event` they recorded (`restart` the
    `ColdStart` it measured); failures raise `HarnessError` subclasses
    (`ConfigError` for an unknown instance).
    """

    api_key: str
    """The key every request (and the edge's admin endpoint) needs."""

    @property
    def edge_url(self) -> str:
        """The entry service as clients reach it (through the `client->ENTRY` link)."""
        ...

    @property
    def toxiproxy(self) -> ToxiproxyClient:
        """The fault client; every toxic added through it is removed when the handle closes."""
        ...

    @property
    def canary(self) -> CanaryRoute | None:
        """The service a rollout shifts and who routes it (None: the topology declares no canary)."""
        ...

    @property
    def router(self) -> TrafficRouter:
        """The canary's traffic router; `restore()` puts back the split it found."""
        ...

    @property
    def instances(self) -> Mapping[str, Instance]:
        """Every instance by name, with its revision, URL, pid and state."""
        ...

    @property
    def cold_starts(self) -> list[ColdStart]:
        """Every start so far, in order (restarts included)."""
        ...

    @property
    def events(self) -> list[Event]:
        """The platform's own journal: kills, restarts, freezes, weight changes."""
        ...

    def links(self) -> dict[str, str]:
        """Link (Toxiproxy proxy) name → listen address."""
        ...

    def metrics_url(self, name: str) -> str:
        """The instance's own `/metrics` (bypassing every proxy)."""
        ...

    def resource_samples(self) -> pd.DataFrame:
        """RSS/CPU per instance over time: columns ts, instance, pid, rss_bytes, cpu_percent."""
        ...

    def kill(self, name: str) -> Event: ...

    def freeze(self, name: str) -> Event: ...

    def thaw(self, name: str) -> Event: ...

    def restart(self, name: str) -> ColdStart: ...


if TYPE_CHECKING:  # mypy --strict proves both platforms implement the seam, with the same types

    from harness.topology import AttachedPlatform, Platform

    def _both_are_handles(embedded: Platform, attached: AttachedPlatform) -> tuple[PlatformHandle, PlatformHandle]:
        return embedded, attached
