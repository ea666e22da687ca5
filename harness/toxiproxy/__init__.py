"""Fault injection through Toxiproxy: the client adapter and the embedded server.

`ToxiproxyClient` is the only way the harness talks to a Toxiproxy server,
real (`TOXIPROXY_URL`) or embedded (`harness toxiproxy`, served by
`run_server`). The embedded server speaks the 2.x HTTP API of
toxiproxy-server 2.12.0 and runs its TCP data plane with every built-in toxic.
"""

from __future__ import annotations

from harness.toxiproxy._client import DEFAULT_URL, ToxiproxyClient
from harness.toxiproxy._server import run_server, serve
from harness.toxiproxy._types import ProxyInfo, ProxySpec, ToxicInfo

__all__ = [
    "DEFAULT_URL",
    "ProxyInfo",
    "ProxySpec",
    "ToxicInfo",
    "ToxiproxyClient",
    "run_server",
    "serve",
]
