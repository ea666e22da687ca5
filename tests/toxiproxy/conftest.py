"""Fixtures for the Toxiproxy tests: real servers (embedded subprocess or TOXIPROXY_URL) and echo upstreams."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from harness.toxiproxy import ProxyInfo, ProxySpec, ToxiproxyClient
from tests.conftest import free_port  # noqa: F401 - re-exported for this package's tests


def start_embedded() -> tuple[subprocess.Popen[str], str]:
    """`python -m harness toxiproxy --port 0` as a real subprocess; returns it and its API URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "toxiproxy", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()  # type: ignore[union-attr]
    if "listening on" not in line:
        proc.kill()
        raise RuntimeError(f"embedded toxiproxy did not start: {line!r} {proc.stderr.read()!r}")  # type: ignore[union-attr]
    return proc, line.split()[-1]


def stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


@pytest.fixture(scope="session")
def embedded_url() -> Iterator[str]:
    proc, url = start_embedded()
    yield url
    stop(proc)


# The real server joins the parameters only when TOXIPROXY_URL names one (one skip says so otherwise,
# see test_conformance.py), so a plain run does not print a skip line per test.
SERVERS = ["embedded"] + ([pytest.param("real", marks=pytest.mark.realtoxiproxy)] if os.environ.get("TOXIPROXY_URL") else [])


@pytest.fixture(scope="session", params=SERVERS)
def server(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(kind, API URL) for each server under test."""
    if request.param == "real":
        return "real", os.environ["TOXIPROXY_URL"]
    return "embedded", request.getfixturevalue("embedded_url")


class Toxi:
    """A client plus helpers; deletes every proxy it made when the test ends."""

    def __init__(self, kind: str, url: str) -> None:
        self.kind = kind
        self.url = url
        self.client = ToxiproxyClient(url)
        self.made: list[str] = []

    def name(self) -> str:
        return f"t-{uuid.uuid4().hex[:8]}"

    def proxy(self, upstream: str, *, listen: str = "127.0.0.1:0", enabled: bool = True) -> ProxyInfo:
        name = self.name()
        self.made.append(name)
        return self.client.create_proxy(ProxySpec(name, listen, upstream, enabled))

    def track(self, *names: str) -> None:
        self.made.extend(names)

    def cleanup(self) -> None:
        for name in self.made:
            try:
                self.client.delete_proxy(name)
            except Exception:
                pass
        self.client.close()


@pytest.fixture
def toxi(server: tuple[str, str]) -> Iterator[Toxi]:
    helper = Toxi(*server)
    yield helper
    helper.cleanup()


class EchoServer:
    """A threaded TCP echo server on 127.0.0.1 that remembers what it read and when."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.reads: list[tuple[float, bytes]] = []
        self.conns: list[socket.socket] = []
        self.closed = threading.Event()
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    break
                if not data:
                    break
                self.reads.append((time.monotonic(), data))
                try:
                    conn.sendall(data)
                except OSError:
                    break
        self.closed.set()

    def close(self) -> None:
        self._stop = True
        self.sock.close()
        for conn in self.conns:
            try:
                conn.close()
            except OSError:
                pass


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.close()


def connect(info: ProxyInfo, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", info.listen_port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def recv_until_eof(sock: socket.socket) -> bytes:
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def round_trip(sock: socket.socket, message: bytes = b"ping") -> float:
    """Seconds for `message` to go through the echo and back."""
    start = time.monotonic()
    sock.sendall(message)
    got = recv_exactly(sock, len(message))
    assert got == message
    return time.monotonic() - start


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0
