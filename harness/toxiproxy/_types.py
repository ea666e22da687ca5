"""Plain, frozen value types the Toxiproxy adapter takes and returns.

They decouple the harness from the JSON shapes of the HTTP API (and from the
`"Logger":{}` leak of real servers): callers never see a dict from the wire.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ProxySpec", "ProxyInfo", "ToxicInfo"]


@dataclass(frozen=True)
class ProxySpec:
    """What a proxy should look like: the input to `ToxiproxyClient.populate`.

    `listen` is `host:port` (port 0 picks a free one); `upstream` is the
    `host:port` every accepted connection is forwarded to.
    """

    name: str
    listen: str
    upstream: str
    enabled: bool = True

    def as_json(self) -> dict[str, Any]:
        """The body `/populate` and `POST /proxies` take."""
        return {"name": self.name, "listen": self.listen, "upstream": self.upstream, "enabled": self.enabled}


@dataclass(frozen=True)
class ToxicInfo:
    """A toxic as the server reports it (every attribute, defaults included)."""

    name: str
    type: str
    stream: str
    toxicity: float
    attributes: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ToxicInfo:
        """Build from one toxic object of the API."""
        return cls(
            name=str(data.get("name", "")),
            type=str(data.get("type", "")),
            stream=str(data.get("stream", "downstream")),
            toxicity=float(data.get("toxicity", 1.0)),
            attributes=dict(data.get("attributes") or {}),
        )


@dataclass(frozen=True)
class ProxyInfo:
    """A proxy as the server reports it; `listen` is resolved once it is enabled."""

    name: str
    listen: str
    upstream: str
    enabled: bool
    toxics: tuple[ToxicInfo, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProxyInfo:
        """Build from one proxy object of the API (ignores the `Logger` leak)."""
        return cls(
            name=str(data.get("name", "")),
            listen=str(data.get("listen", "")),
            upstream=str(data.get("upstream", "")),
            enabled=bool(data.get("enabled", False)),
            toxics=tuple(ToxicInfo.from_json(t) for t in data.get("toxics") or ()),
        )

    @property
    def listen_host(self) -> str:
        """Host part of `listen` (brackets of an IPv6 literal removed)."""
        host, _, _ = self.listen.rpartition(":")
        return host.strip("[]")

    @property
    def listen_port(self) -> int:
        """Port part of `listen` (0 if it has none yet)."""
        _, _, port = self.listen.rpartition(":")
        return int(port) if port.isascii() and port.isdigit() and len(port) <= 5 else 0
