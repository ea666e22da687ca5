"""Run the embedded Toxiproxy-compatible server: one process, one event loop.

uvloop is used when installed (it roughly doubles what the data plane can
forward); SIGTERM and SIGINT stop it cleanly: the API stops listening, every
proxy is stopped and its connections closed, and `run` returns 0.

`seed` seeds the generator behind toxicity rolls, jitter and slicer cuts, so
a run can be repeated (the real server's `-seed` is parsed and then unused).
`proxy_metrics` / `runtime_metrics` serve `/metrics` as the real server's
`-proxy-metrics` / `-runtime-metrics` do.
"""

from __future__ import annotations

import asyncio
import errno
import json
import random
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from harness._exceptions import ConfigError, PortInUse
from harness.toxiproxy._api import API_VERSION, Api
from harness.toxiproxy._http import IDLE_TIMEOUT, READ_TIMEOUT, WRITE_TIMEOUT, HttpProtocol

__all__ = ["run_server", "serve"]


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(f"toxiproxy: --port {port} on {host} is already in use") from None
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", field="--host/--port") from None
    sock.setblocking(False)
    return sock


async def serve(
    host: str = "127.0.0.1",
    port: int = 8474,
    *,
    config: Path | None = None,
    ready: Callable[[str], None] | None = None,
    stop: asyncio.Event | None = None,
    proxy_metrics: bool = False,
    runtime_metrics: bool = False,
    timeouts: tuple[float, float, float] = (READ_TIMEOUT, IDLE_TIMEOUT, WRITE_TIMEOUT),
) -> None:
    """Serve the API on host:port until `stop` is set (or forever); `ready(url)` once listening.

    `timeouts` are the API's (read, idle, write) seconds, the real server's
    15/60/30 unless a test asks for shorter ones.
    """
    loop = asyncio.get_running_loop()
    metrics = None
    if proxy_metrics or runtime_metrics:
        from harness.toxiproxy._metrics import Metrics

        metrics = Metrics(proxy=proxy_metrics, runtime=runtime_metrics)
    api = Api(metrics)
    if config is not None:
        await _load_config(api, config)
    sock = _bind(host, port)
    read, idle, write = timeouts

    def protocol() -> HttpProtocol:
        return HttpProtocol(api, read_timeout=read, idle_timeout=idle, write_timeout=write)

    server = await loop.create_server(protocol, sock=sock)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    if ready is not None:
        ready(f"http://{shown}:{bound_port}")
    try:
        await (stop or asyncio.Event()).wait()
    finally:
        server.close()
        await api.shutdown()


async def _load_config(api: Api, path: Path) -> None:
    """`-config FILE` of the real server: a /populate body, applied before the API listens."""
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", source=str(path)) from None
    status, _, _, answer = await api.populate(body=body)
    if status != 201:
        raise ConfigError(json.loads(answer).get("error", "invalid"), source=str(path))


def run_server(
    host: str = "127.0.0.1",
    port: int = 8474,
    *,
    config: Path | None = None,
    seed: int | None = None,
    proxy_metrics: bool = False,
    runtime_metrics: bool = False,
) -> int:
    """Run until SIGTERM/SIGINT, printing the API URL once listening; returns the exit code."""
    if seed is not None:
        random.seed(seed)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        uvloop = None  # type: ignore[assignment]

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)

        def ready(url: str) -> None:
            flavour = "uvloop" if uvloop is not None else "asyncio"
            print(f"toxiproxy (embedded, API {API_VERSION}, {flavour}) listening on {url}", flush=True)

        await serve(
            host, port, config=config, ready=ready, stop=stop,
            proxy_metrics=proxy_metrics, runtime_metrics=runtime_metrics,
        )

    if uvloop is not None:
        uvloop.run(main())
    else:
        asyncio.run(main())
    sys.stdout.flush()
    return 0
