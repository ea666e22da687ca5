from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from harness.toxiproxy import ToxiproxyClient

pytest.importorskip("chaoslib", reason="the Chaos Toolkit extension needs chaostoolkit-lib (test extras)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def toxiproxy() -> Iterator[str]:
    """An embedded Toxiproxy server of our own (TOXIPROXY_URL), so its proxies can be read while a run goes on."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "harness", "toxiproxy", "--port", str(port)])
    url = f"http://127.0.0.1:{port}"
    client = ToxiproxyClient(url)
    deadline = time.monotonic() + 15
    while not client.ping():
        assert time.monotonic() < deadline, "embedded toxiproxy did not start"
        time.sleep(0.1)
    yield url
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:  # a busy machine: do not leave it behind
        server.kill()
        server.wait(10)
