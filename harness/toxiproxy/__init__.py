"""Fault injection through Toxiproxy: the client adapter and the embedded server.

`ToxiproxyClient` is the only way the harness talks to a Toxiproxy server,
real (`TOXIPROXY_URL`) or embedded (`harness toxiproxy`, served by
`run_server`). The embedded server speaks the 2.x HTTP API of
toxiproxy-server 2.12.0 and runs its TCP data plane with every built-in toxic.

Names are resolved on first access (PEP 562): the server never imports the
client stack (requests, urllib3, ssl, toxiproxy-python), which would cost it
~100 ms of start-up and ~20 MB of idle RSS, and the client never imports
asyncio or uvloop.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
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

_WHERE = {
    "DEFAULT_URL": "_client",
    "ToxiproxyClient": "_client",
    "run_server": "_server",
    "serve": "_server",
    "ProxyInfo": "_types",
    "ProxySpec": "_types",
    "ToxicInfo": "_types",
}


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
