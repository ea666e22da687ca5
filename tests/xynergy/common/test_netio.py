"""The upstream pools' asyncio socket layer, against a real loopback HTTP server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import httpx
import pytest

from xynergy.common.clients import UPSTREAM_LIMITS, pooled_client
from xynergy.common.netio import AsyncioBackend

pytestmark = pytest.mark.anyio


class Server:
    """A tiny HTTP/1.1 server: echoes the body; ``/slow`` never answers; ``/close`` closes after answering."""

    def __init__(self) -> None:
        self.connections = 0
        self.chunks: list[int] = []  # recv() calls per request (1 = head and body came together)
        self.server: asyncio.Server | None = None
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    return
                recvs = 1
                while b"\r\n\r\n" not in data:
                    data += await reader.read(65536)
                    recvs += 1
                head, _, body = data.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(body) < length:
                    body += await reader.read(65536)
                    recvs += 1
                self.chunks.append(recvs)
                path = head.split(b" ")[1]
                if path == b"/slow":
                    await asyncio.sleep(5)
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
                await writer.drain()
                if path == b"/close":
                    writer.close()
                    return
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    srv = Server()
    srv.server = await asyncio.start_server(srv.handle, "127.0.0.1", 0)
    srv.port = srv.server.sockets[0].getsockname()[1]
    yield srv
    srv.server.close()


def client(port: int, read_s: float = 2.0) -> httpx.AsyncClient:
    return pooled_client(f"http://127.0.0.1:{port}", timeout=httpx.Timeout(read_s, connect=0.5),
                         limits=UPSTREAM_LIMITS)


async def test_plain_http_upstreams_use_the_asyncio_backend() -> None:
    async with client(1) as c:
        assert isinstance(c._transport._pool._network_backend, AsyncioBackend)  # type: ignore[attr-defined]


async def test_requests_reuse_one_connection_and_send_head_and_body_together(server: Server) -> None:
    async with client(server.port) as c:
        for i in range(5):
            response = await c.post("/echo", content=b"x" * (100 + i))
            assert response.status_code == 200 and response.content == b"x" * (100 + i)
        assert (await c.get("/echo")).content == b""
    assert server.connections == 1
    assert server.chunks == [1] * 6


async def test_a_request_head_leaves_with_its_body_in_one_write(server: Server) -> None:
    stream = await AsyncioBackend().connect_tcp("127.0.0.1", server.port, timeout=1.0)
    transport = stream._transport  # type: ignore[attr-defined]
    writes: list[bytes] = []

    class Recording:
        def write(self, data: bytes) -> None:
            writes.append(data)
            transport.write(data)

        def __getattr__(self, name: str) -> object:
            return getattr(transport, name)

    stream._transport = Recording()  # type: ignore[attr-defined]
    head = b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\n\r\n"
    await stream.write(head)
    assert writes == []  # held back until the body follows
    await stream.write(b"abc")
    assert writes == [head + b"abc"]
    await stream.write(b"GET /echo HTTP/1.1\r\nhost: x\r\n\r\n")  # no body: sent on the first read
    assert len(writes) == 1
    assert (await stream.read(65536, timeout=1.0)).startswith(b"HTTP/1.1 200 OK")
    assert len(writes) == 2
    await stream.aclose()


async def test_a_large_body_arrives_whole(server: Server) -> None:
    body = bytes(range(256)) * 40_000  # 10 MB: exercises the transport's write flow control
    async with client(server.port, read_s=10) as c:
        assert (await c.post("/echo", content=body)).content == body


async def test_an_upstream_that_closes_an_idle_connection_costs_nothing(server: Server) -> None:
    async with client(server.port) as c:
        assert (await c.post("/close", content=b"a")).status_code == 200
        await asyncio.sleep(0.05)  # the close arrives while the connection is idle in the pool
        assert (await c.post("/echo", content=b"b")).content == b"b"
    assert server.connections == 2


async def test_a_silent_upstream_is_a_read_timeout(server: Server) -> None:
    async with client(server.port, read_s=0.2) as c:
        with pytest.raises(httpx.ReadTimeout):
            await c.post("/slow", content=b"a")


async def test_a_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: refused
        async with client(port) as c:
            with pytest.raises(httpx.ConnectError):
                await c.get("/")
