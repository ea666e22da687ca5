"""system-runtime: the status stream, and a registry that returns to zero on every disconnect."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import struct
import time

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.xynergy.platform_testing import AUTH, ServiceProcess


def live(sp: ServiceProcess) -> int:
    return int(httpx.get(f"{sp.url}/v1/runtime/connections", headers=AUTH, timeout=2).json()["connections"])


def wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def drop_abruptly(ws) -> None:
    """Reset the TCP connection: no close frame, no FIN handshake."""
    ws.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    ws.socket.close()


@pytest.mark.slow
def test_websocket_registry_returns_to_zero_after_abrupt_client_drops(spawn) -> None:
    runtime = spawn("system-runtime")
    url = f"ws://127.0.0.1:{runtime.port}/v1/runtime/ws?interval=0.05"
    stack = contextlib.ExitStack()
    sockets = [stack.enter_context(connect(url, additional_headers=AUTH, open_timeout=5)) for _ in range(12)]
    first = json.loads(sockets[0].recv(timeout=5))
    assert first["type"] == "status" and first["revision"] == "baseline"
    assert wait_for(lambda: live(runtime) == 12)
    sockets[0].send(b"\x00\x01")  # client frames of either kind are read and ignored
    sockets[1].send("hello")
    time.sleep(0.2)
    assert live(runtime) == 12
    for ws in sockets[:8]:
        drop_abruptly(ws)
    for ws in sockets[8:10]:
        ws.close()
    # the last two stop reading and just vanish with their process-side buffers full
    for ws in sockets[10:]:
        ws.socket.shutdown(socket.SHUT_RDWR)
        ws.socket.close()
    assert wait_for(lambda: live(runtime) == 0), f"registry stuck at {live(runtime)}"
    with contextlib.suppress(Exception):
        stack.close()
    metrics = httpx.get(f"{runtime.url}/metrics", timeout=2).text
    assert 'xynergy_ws_connections{revision="baseline"} 0.0' in metrics


@pytest.mark.slow
def test_websocket_without_a_key_is_refused_at_the_handshake(spawn) -> None:
    runtime = spawn("system-runtime")
    with pytest.raises(InvalidStatus, match="403"):
        with connect(f"ws://127.0.0.1:{runtime.port}/v1/runtime/ws", open_timeout=5):
            pass
    assert live(runtime) == 0


@pytest.mark.slow
def test_edge_proxies_the_status_stream_and_the_registry_still_empties(spawn) -> None:
    runtime = spawn("system-runtime", "--revision", "r7")
    governance = spawn("security-governance")
    edge = spawn("edge", "--upstream", f"system-runtime={runtime.url}",
                 "--upstream", f"security-governance={governance.url}")
    with connect(f"ws://127.0.0.1:{edge.port}/v1/runtime/ws?interval=0.05", additional_headers=AUTH,
                 open_timeout=5) as ws:
        assert ws.response.headers["x-xynergy-revision"] == "r7"
        events = [json.loads(ws.recv(timeout=5)) for _ in range(3)]
        assert [e["seq"] for e in events] == [0, 1, 2] and events[0]["revision"] == "r7"
        assert live(runtime) == 1
        drop_abruptly(ws)
    assert wait_for(lambda: live(runtime) == 0)


@pytest.mark.slow
def test_sigterm_closes_open_streams_and_the_service_exits_0(spawn) -> None:
    runtime = spawn("system-runtime")
    url = f"ws://127.0.0.1:{runtime.port}/v1/runtime/ws?interval=0.05"
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(connect(url, additional_headers=AUTH, open_timeout=5)) for _ in range(3)]
        for ws in sockets:
            ws.recv(timeout=5)
        start = time.monotonic()
        runtime.proc.send_signal(signal.SIGTERM)
        assert runtime.proc.wait(timeout=15) == 0
        assert time.monotonic() - start < 10  # streams are closed, not waited out to the grace limit
        for ws in sockets:
            with pytest.raises(ConnectionClosed):
                while True:
                    ws.recv(timeout=5)
    assert '"msg": "stopped"' in runtime.stderr()  # the lifespan's shutdown ran
