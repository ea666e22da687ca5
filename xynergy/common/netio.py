"""A plain-asyncio network backend for httpcore: the upstream pools' socket layer.

Why: every upstream call (edge → services, routing → AI regions) goes through
``httpx.AsyncClient`` → httpcore → anyio. Profiling the edge and the routing
engine at 100 req/s showed about a seventh of their CPU in anyio's socket
stream: a checkpoint (one extra event-loop round) before every send and
receive, a cancel scope per operation, a ``poll()`` of every idle pooled
socket per request, and two ``send()`` system calls per request (h11 hands
over the head and the body separately). This backend keeps httpx and
httpcore — pooling, limits, timeouts, HTTP/1.1 parsing and the exceptions the
services catch are theirs — and replaces only the socket layer with an
``asyncio.Protocol``:

- a request head is held back until the body (or the first read) follows, so
  head and body leave in one write;
- reads take what the protocol has buffered, waiting only when it is empty;
- ``is_readable`` (httpcore's check for a dropped idle connection) reads a flag
  the protocol keeps instead of polling the socket.

Plain TCP only: the upstreams are loopback ``http://`` services (or Toxiproxy
in front of them); ``start_tls`` refuses, so a TLS upstream keeps httpx's own
backend (see ``xynergy.common.clients``).
"""

from __future__ import annotations

import asyncio
import typing
from collections.abc import Iterable

import httpcore

__all__ = ["AsyncioBackend"]

_HEAD_END = b"\r\n\r\n"


class _Protocol(asyncio.Protocol):
    """Buffers what arrives and wakes the one reader waiting for it."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.eof = False
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.drained: asyncio.Future[None] | None = None
        self.paused = False

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # let the transport close

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        self._wake()
        self.resume_writing()

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        drained = self.drained
        if drained is not None and not drained.done():
            drained.set_result(None)


class _Stream(httpcore.AsyncNetworkStream):
    """One TCP connection; writes of a request head wait for what follows."""

    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol
        self._held = b""

    def _flush(self) -> None:
        held, self._held = self._held, b""
        self._transport.write(held)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self._held:
            self._flush()
        protocol = self._protocol
        if not protocol.buffer and not protocol.eof:
            protocol.waiter = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(timeout):
                    await protocol.waiter
            except TimeoutError:
                raise httpcore.ReadTimeout("timed out reading from upstream") from None
            finally:
                protocol.waiter = None
        if protocol.buffer:
            data = bytes(protocol.buffer[:max_bytes])
            del protocol.buffer[:max_bytes]
            return data
        if protocol.error is not None:
            raise httpcore.ReadError(str(protocol.error) or type(protocol.error).__name__)
        return b""  # orderly close: httpcore reports "server disconnected"

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        if self._transport.is_closing():
            raise httpcore.WriteError("connection closed")
        if not self._held and buffer.endswith(_HEAD_END):
            self._held = buffer  # a request head: send it with the body, or on the first read
            return
        if self._held:
            buffer, self._held = self._held + buffer, b""
        self._transport.write(buffer)
        if self._protocol.paused:
            await self._drain(timeout)

    async def _drain(self, timeout: float | None) -> None:
        protocol = self._protocol
        protocol.drained = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(timeout):
                await protocol.drained
        except TimeoutError:
            raise httpcore.WriteTimeout("timed out writing to upstream") from None
        finally:
            protocol.drained = None
        if self._transport.is_closing():
            raise httpcore.WriteError("connection closed")

    async def aclose(self) -> None:
        self._held = b""
        self._transport.close()

    async def start_tls(self, ssl_context: typing.Any, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("AsyncioBackend is for plain-http upstreams only")

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "is_readable":
            return bool(self._protocol.buffer) or self._protocol.eof
        if info == "socket":
            return self._transport.get_extra_info("socket")
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend on plain asyncio transports (TCP, no TLS)."""

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                          ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_connection(
                    _Protocol, host, port, local_addr=(local_address, 0) if local_address else None)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"connecting to {host}:{port} timed out") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)  # asyncio already sets TCP_NODELAY
        return _Stream(transport, protocol)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                                  ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("AsyncioBackend does not do unix sockets")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
