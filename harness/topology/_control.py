"""Reach a platform that another process owns: its control endpoint and `AttachedPlatform`.

Only the owner of the children can restart them (a restarted child must be
tied to the owner's life), so the owner serves a tiny loopback HTTP API, guarded
by the run's API key, and `Platform.attach(state_file)` talks to it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pandas as pd

from harness._exceptions import ConfigError, HarnessError, ProcessError, ServiceUnreachable
from harness.routers import TrafficSplit
from harness.routers.edge import EdgeRouter
from harness.topology._coldstart import ColdStart
from harness.topology._records import CanaryRoute, Event, Instance
from harness.topology._state import read_state

if TYPE_CHECKING:
    from harness.topology._platform import Platform
    from harness.toxiproxy import ToxiproxyClient

__all__ = ["AttachedPlatform", "ControlServer"]

_ACTIONS = ("kill", "restart", "freeze", "thaw")
READ_TIMEOUT_S = 5.0
"""A control connection that sends nothing for this long is dropped."""


class ControlServer:
    """Serves `platform` on 127.0.0.1 until `close()`.

    One thread per connection, each with a read timeout: an idle or trickling
    client cannot hold the server (and with it `harness down`) hostage.
    """

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.on_change: Callable[[], None] = lambda: None
        """Called after every action (the supervisor rewrites the state file)."""
        handler = type("Handler", (_Handler,), {"platform": platform, "control": self, "timeout": READ_TIMEOUT_S})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="harness-control", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    platform: Platform
    control: ControlServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        return

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body, default=str).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        import hmac

        if hmac.compare_digest(self.headers.get("X-API-Key", "").encode(), self.platform.api_key.encode()):
            return True
        self._reply(403, {"error": "wrong or missing X-API-Key"})
        return False

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if not self._authorized():
            return
        p = self.platform
        if self.path == "/state":
            self._reply(200, p.describe())
        elif self.path == "/resources":
            self._reply(200, p.resource_samples().to_dict(orient="records"))
        elif self.path == "/events":
            self._reply(200, [e.as_dict() for e in p.events])
        elif self.path == "/cold-starts":
            self._reply(200, [c.as_dict() for c in p.cold_starts])
        else:
            self._reply(404, {"error": f"no such endpoint {self.path}"})

    def do_POST(self) -> None:  # noqa: N802
        if not self._authorized():
            return
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            action, name = body.get("action"), body.get("instance")
            if action not in _ACTIONS or not isinstance(name, str):
                self._reply(400, {"error": f"action must be one of {_ACTIONS} with an 'instance'"})
                return
            result = getattr(self.platform, action)(name)
            self.control.on_change()
            self._reply(200, result.as_dict())
        except ConfigError as exc:  # e.g. no such instance
            self._reply(400, {"error": str(exc)})
        except HarnessError as exc:  # the action itself failed (e.g. the restarted service died)
            self._reply(409, {"error": str(exc)})
        except ValueError as exc:
            self._reply(400, {"error": f"bad request body: {exc}"})
        except Exception as exc:  # noqa: BLE001 - the owner must keep serving; the caller gets the reason
            self._reply(500, {"error": f"{type(exc).__name__}: {exc}"})


class AttachedPlatform:
    """A `PlatformHandle` for a platform owned by a supervisor (see `Platform.attach`).

    Same return types as the embedded `Platform`; the canary route and its
    router come from the state file (recorded from the topology in use).
    """

    def __init__(self, state_file: str | Path) -> None:
        self.state_file = Path(state_file)
        self.state = read_state(self.state_file)
        self.api_key: str = self.state["api_key"]
        self.toxiproxy_url: str = self.state["toxiproxy_url"]
        self.redis_mode: str = self.state.get("redis", {}).get("mode", "in-process")
        self._edge_url: str = self.state["edge_url"]
        self._control = httpx.Client(base_url=self.state["control_url"], timeout=60.0,
                                     headers={"X-API-Key": self.api_key})
        self._toxiproxy: ToxiproxyClient | None = None
        self._router: EdgeRouter | None = None
        self._local: list[Event] = []
        """Actions this client took itself (weight changes): the supervisor does not see them."""

    def __enter__(self) -> AttachedPlatform:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Undo this client's toxics and close connections (the platform keeps running)."""
        if self._toxiproxy is not None:
            self._toxiproxy.__exit__(None, None, None)  # rollback, then close
        self._control.close()

    @property
    def edge_url(self) -> str:
        return self._edge_url

    @property
    def toxiproxy(self) -> ToxiproxyClient:
        if self._toxiproxy is None:
            from harness.toxiproxy import ToxiproxyClient

            self._toxiproxy = ToxiproxyClient(self.toxiproxy_url)
        return self._toxiproxy

    @property
    def canary(self) -> CanaryRoute | None:
        recorded = self.state.get("canary")
        if isinstance(recorded, dict):
            return CanaryRoute(**recorded)
        from harness.topology._model import load_topology  # a state file from before the route was recorded

        return CanaryRoute.from_topology(load_topology(self.state.get("topology")))

    @property
    def router(self) -> EdgeRouter:
        if self._router is None:
            route = self.canary
            if route is None:
                raise ConfigError("the attached platform has no (single) canary to route", source=str(self.state_file))
            self._router = EdgeRouter(self.url(route.router), self.api_key, service=route.service,
                                      baseline=route.baseline, canary=route.canary, on_change=self._weight_set)
        return self._router

    def _weight_set(self, split: TrafficSplit) -> None:
        route = self.canary
        self._local.append(Event(time.time(), "canary-weight", route.router if route else "edge", None,
                                 {"service": split.service, "percent": split.canary_percent}))

    def set_canary_weight(self, pct: int) -> None:
        """Send `pct` % of the canary service's traffic to its canary (`router.set_canary_percent`)."""
        self.router.set_canary_percent(pct)

    @property
    def instances(self) -> dict[str, Instance]:
        return {name: Instance.from_dict(inst) for name, inst in self._get("/state")["instances"].items()}

    @property
    def cold_starts(self) -> list[ColdStart]:
        return [ColdStart(**c) for c in self._get("/cold-starts")]

    @property
    def events(self) -> list[Event]:
        remote = [Event.from_dict(e) for e in self._get("/events")]
        return sorted(remote + self._local, key=lambda e: e.ts)

    def links(self) -> dict[str, str]:
        """Proxy name → listen address."""
        return {name: str(link["listen"]) for name, link in self.state["links"].items()}

    def url(self, name: str) -> str:
        inst = self.state["instances"].get(name)
        if inst is None:
            raise ConfigError(f"no such instance {name!r}", source=str(self.state_file))
        return str(inst["url"])

    def metrics_url(self, name: str) -> str:
        return f"{self.url(name)}/metrics"

    def resource_samples(self) -> pd.DataFrame:
        return pd.DataFrame(self._get("/resources"), columns=["ts", "instance", "pid", "rss_bytes", "cpu_percent"])

    def kill(self, name: str) -> Event:
        return Event.from_dict(self._act("kill", name))

    def freeze(self, name: str) -> Event:
        return Event.from_dict(self._act("freeze", name))

    def thaw(self, name: str) -> Event:
        return Event.from_dict(self._act("thaw", name))

    def restart(self, name: str) -> ColdStart:
        return ColdStart(**self._act("restart", name))

    def _act(self, action: str, name: str) -> dict[str, Any]:
        resp = self._send("POST", "/actions", json={"action": action, "instance": name})
        if resp.status_code != 200:
            try:
                reason = str(resp.json().get("error", resp.text))
            except ValueError:
                reason = resp.text
            if resp.status_code in (400, 403):
                raise ConfigError(reason, source=f"{action} {name}")
            raise ProcessError(f"{action} {name}: {reason}")
        return dict(resp.json())

    def _get(self, path: str) -> Any:
        return self._send("GET", path).json()

    def _send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            return self._control.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise ServiceUnreachable(
                f"the platform's supervisor at {self.state['control_url']} does not answer ({exc}); "
                f"is it still up? (state file {self.state_file})"
            ) from None
