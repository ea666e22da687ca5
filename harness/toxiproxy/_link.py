"""The TCP data plane: one accepted connection, its upstream connection, two directions.

Built on asyncio Protocols, not streams: bytes arrive in `data_received` and
leave through `transport.write`, with backpressure done at transport level
(`pause_writing` on one side pauses reading on the other). A direction with
no toxic running forwards `data_received` straight to the peer transport (the
fast path); only when its chain holds an active toxic do chunks go through the
stages of `_stages`. Switching happens live, between two chunks, and a removed
toxic first hands on everything it holds, so nothing is lost or reordered.

Closing follows the real server: when EOF (or a toxic's close) reaches the end
of one direction's chain, its destination socket is closed, which ends the
other direction's input; that one drains and closes the other socket.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

from harness.toxiproxy._stages import Stage, make_stage, now
from harness.toxiproxy._toxic import Toxic

if TYPE_CHECKING:
    from harness.toxiproxy._proxy import Proxy

__all__ = ["Link", "Side"]

_HIGH_WATER = 4 * 1024 * 1024  # bytes held in a chain before the source is paused
_LOW_WATER = 1024 * 1024
_BY_PEER, _BY_CHAIN, _STARTING = 1, 2, 4  # reasons a side's reading is paused


class Side(asyncio.Protocol):
    """One socket of a link (the client's or the upstream's)."""

    def __init__(self, link: Link) -> None:
        self.link = link
        self.transport: asyncio.Transport | None = None
        self.out_dir: Direction | None = None  # the direction this side feeds
        self.in_dir: Direction | None = None  # the direction that writes to this side
        self.paused = 0
        self.lost = False
        self.early: list[bytes | None] = []  # read before the link was ready (None = EOF)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        _nodelay(transport)
        self.pause(_STARTING)  # until the link has both sides and its chains

    def data_received(self, data: bytes) -> None:
        direction = self.out_dir
        if direction is None:  # uvloop may start reading before the link is ready
            self.early.append(data)
            return
        direction.feed(data)

    def eof_received(self) -> bool:
        if self.out_dir is not None:
            self.out_dir.feed_eof()
        else:
            self.early.append(None)
        return True  # keep the socket; the link decides when to close it

    def replay(self) -> None:
        """Hand on what arrived before the link was ready."""
        early, self.early = self.early, []
        for data in early:
            if data is None:
                self.out_dir.feed_eof()  # type: ignore[union-attr]
            else:
                self.out_dir.feed(data)  # type: ignore[union-attr]

    def pause_writing(self) -> None:
        if self.in_dir is not None:
            self.in_dir.src.pause(_BY_PEER)

    def resume_writing(self) -> None:
        if self.in_dir is not None:
            self.in_dir.src.resume(_BY_PEER)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.link.side_lost(self)

    def pause(self, reason: int) -> None:
        if not self.paused and self.transport is not None and not self.lost:
            self.transport.pause_reading()
        self.paused |= reason

    def resume(self, reason: int) -> None:
        was = self.paused
        self.paused &= ~reason
        if was and not self.paused and self.transport is not None and not self.lost:
            self.transport.resume_reading()

    def close(self) -> None:
        """Close after what is already written has been sent (FIN, or RST with linger 0)."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def abort(self) -> None:
        """Close now, dropping anything unsent (the proxy went down)."""
        if self.transport is not None:
            self.transport.abort()


class ClientSide(Side):
    """The accepted socket; it starts the upstream connection."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.link.accepted()


def _nodelay(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass


def _linger_zero(transport: asyncio.BaseTransport | None) -> None:
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass


class Direction:
    """Bytes flowing from `src` to `dst` through the toxics of one stream."""

    def __init__(self, link: Link, src: Side, dst: Side) -> None:
        self.link = link
        self.loop = link.loop
        self.src = src
        self.dst = dst
        self.stages: list[Stage] = []
        self.state: dict[str, dict[str, Any]] = {}
        self.held = 0
        self.eof = False
        self.done = False
        self.counting = link.proxy.metrics is not None  # bytes for /metrics (-proxy-metrics)
        self.received = 0  # bytes read from src
        self.sent = 0  # bytes written to dst
        assert dst.transport is not None
        self._write_dst = dst.transport.write
        self._chain = self._into_chain  # bound once, so `feed is self._chain` can be tested
        self._direct = self._counted_write if self.counting else self._write_dst
        self.feed: Callable[[bytes], None] = self._direct

    # -- chain management ---------------------------------------------------

    def setup(self, toxics: Iterable[Toxic]) -> None:
        for toxic in toxics:
            stage = self._stage(toxic)
            if self.stages:
                self.stages[-1].out = stage.push
            self.stages.append(stage)
        for stage in self.stages:
            stage.start()
        self._refeed()

    def _stage(self, toxic: Toxic) -> Stage:
        stage = make_stage(toxic, self.loop, self._end, self.state.setdefault(toxic.name, {}))
        stage.on_held = self._on_held
        return stage

    def _index(self, name: str) -> int:
        for i, stage in enumerate(self.stages):
            if stage.toxic.name == name:
                return i
        return -1

    def add(self, toxic: Toxic) -> None:
        self.state.pop(toxic.name, None)
        stage = self._stage(toxic)
        prev = self.stages[-1] if self.stages else None
        if prev is not None:
            prev.interrupt()  # its held chunk goes to the old output first
            prev.out = stage.push
        self.stages.append(stage)
        stage.start()
        if prev is not None:
            prev.restart()
        self._refeed()

    def remove(self, name: str) -> None:
        i = self._index(name)
        if i < 0:
            return
        stage = self.stages[i]
        if stage.cleanup():
            self._refeed()
            return
        prev = self.stages[i - 1] if i > 0 else None
        if prev is not None:
            prev.interrupt()
        stage.flush()
        if prev is not None:
            prev.out = stage.out
        del self.stages[i]
        self.state.pop(name, None)
        if prev is not None:
            prev.restart()
        self._refeed()

    def update(self, name: str) -> None:
        i = self._index(name)
        if i >= 0:
            self.stages[i].interrupt()
            self.stages[i].restart()
            self._refeed()

    def _refeed(self) -> None:
        """Pick the fast path when no stage can touch the bytes, else the chain."""
        if self.done:
            self.feed = _drop
        elif any(s.active or s.busy or s.queue or s.closed for s in self.stages):
            self.feed = self._chain
        else:
            self.feed = self._direct

    def dispose(self) -> None:
        for stage in self.stages:
            stage.cancel()

    # -- data ----------------------------------------------------------------

    def _counted_write(self, data: bytes) -> None:
        self.received += len(data)
        self.sent += len(data)
        self._write_dst(data)

    def _into_chain(self, data: bytes) -> None:
        self.received += len(data)
        self.stages[0].push(data, now())

    def feed_eof(self) -> None:
        if self.eof:
            return
        self.eof = True
        if self.feed is self._chain:
            self.stages[0].push(None, now())
        else:
            self._finish()

    def _end(self, data: bytes | None, ts: float) -> None:
        if data is None:
            self._finish()
        elif not self.done:
            self.sent += len(data)
            self._write_dst(data)

    def _finish(self) -> None:
        if self.done:
            return
        self.done = True
        self.feed = _drop
        self.dst.close()
        if self.dst.out_dir is not None:
            self.dst.out_dir.feed_eof()  # the other direction's source is gone

    def _on_held(self, n: int) -> None:
        self.held += n
        if self.held > _HIGH_WATER:
            self.src.pause(_BY_CHAIN)
        elif self.held < _LOW_WATER and self.src.paused & _BY_CHAIN:
            self.src.resume(_BY_CHAIN)


def _drop(data: bytes) -> None:
    """Input after the direction has closed goes nowhere."""


class Link:
    """One client connection through a proxy, and its upstream connection."""

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy
        self.loop = asyncio.get_running_loop()
        self.client = ClientSide(self)
        self.upstream: Side | None = None
        self.up: Direction | None = None
        self.down: Direction | None = None
        self.dropped = False
        self.disposed = False
        # the real server labels a link's byte counters with the proxy as it was when the link started
        self.labels = (proxy.name, proxy.listen, proxy.upstream)
        self._connecting: asyncio.Task[None] | None = None  # held so it is not garbage-collected

    def accepted(self) -> None:
        self.proxy.links.add(self)
        self._connecting = self.loop.create_task(self._connect())

    async def _connect(self) -> None:
        try:
            host, port = self.proxy.upstream_address()  # an unparsable upstream is a failed dial, as in Go
            _, upstream = await self.loop.create_connection(lambda: Side(self), host, port)
        except (OSError, ValueError):
            self.client.close()  # accepted, then closed: the client reads EOF (as the real server)
            self.proxy.links.discard(self)
            return
        self.upstream = upstream
        if self.dropped or self.client.lost:
            upstream.close()
            return
        self.up = Direction(self, self.client, upstream)
        self.down = Direction(self, upstream, self.client)
        self.client.out_dir, self.client.in_dir = self.up, self.down
        upstream.out_dir, upstream.in_dir = self.down, self.up
        if any(t.type == "reset_peer" for t in self.proxy.toxics):
            _linger_zero(self.client.transport)
            _linger_zero(upstream.transport)
        self.up.setup(self.proxy.chain("upstream"))
        self.down.setup(self.proxy.chain("downstream"))
        self.client.replay()
        upstream.replay()
        self.client.resume(_STARTING)
        upstream.resume(_STARTING)

    def direction(self, toxic: Toxic) -> Direction | None:
        return self.up if toxic.direction == "upstream" else self.down

    def side_lost(self, side: Side) -> None:
        if side.out_dir is not None:
            side.out_dir.feed_eof()
        if side.in_dir is not None and not side.in_dir.done:
            side.in_dir.done = True
            side.in_dir.feed = _drop
        if self.client.lost and (self.upstream is None or self.upstream.lost):
            self._dispose()

    def drop(self) -> None:
        """Close both sockets now (the proxy is disabled, deleted or re-pointed)."""
        self.dropped = True
        for direction in (self.up, self.down):
            if direction is not None:
                direction.done = direction.eof = True
                direction.feed = _drop
        self._dispose()
        self.client.abort()
        if self.upstream is not None:
            self.upstream.abort()

    def _dispose(self) -> None:
        if self.disposed:
            return
        self.disposed = True
        metrics = self.proxy.metrics
        for name, direction in (("upstream", self.up), ("downstream", self.down)):
            if direction is not None:
                direction.dispose()
                if metrics is not None:
                    metrics.count(name, *self.labels, direction.received, direction.sent)
        self.proxy.links.discard(self)
