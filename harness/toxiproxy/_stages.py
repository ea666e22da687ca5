"""What each built-in toxic does to the bytes of one link direction.

A *stage* is one toxic running on one link direction, like a `ToxicStub`
goroutine of the real server, but push-based on the event loop: chunks arrive
through `push(data, ts)` and leave through `out(data, ts)` (`data=None` is
EOF). A stage that must wait holds its queue and sets a timer, so order is
kept and no task is spawned per chunk. `ts` is the chunk's receive time on
`time.monotonic()`, advanced by each latency stage as Go advances
`StreamChunk.Timestamp`, so delays are measured from the receive time and
stacked latencies add up.

Waits never end early. uvloop's loop clock is in milliseconds, cached at the
start of each loop iteration, and its timers round to whole milliseconds, so
a stamp or a deadline on it can be up to ~1.5 ms early (a 50 ms latency toxic
delivered after 49.4 ms). Stamps therefore come from `time.monotonic()`, and
a timer that fires before its monotonic deadline is re-armed for the rest.

`interrupt()` + `restart()` mirror the Go stub's Interrupt/Run: the chunk being
worked on is forwarded at once (nothing is dropped), toxicity is re-rolled and
the rest of the queue is processed with the toxic's current attributes.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from harness.toxiproxy._toxic import Toxic, wrap64

if TYPE_CHECKING:
    import asyncio

__all__ = ["Stage", "Out", "make_stage", "now"]

Out = Callable[[bytes | None, float], None]

#: The clock of chunk stamps and deadlines (precise, monotonic; not the loop's cached clock).
now = time.monotonic
# A re-armed timer asks for at least this much, which uvloop rounds to 1 ms (not to 0: no busy loop).
_MIN_REARM = 0.0006


class Stage:
    """A pass-through stage (`noop`); the base of every other toxic's stage."""

    def __init__(self, toxic: Toxic, loop: asyncio.AbstractEventLoop, out: Out, state: dict[str, Any]) -> None:
        self.toxic = toxic
        self.loop = loop
        self.out = out
        self.state = state  # per-link state of stateful toxics (limit_data)
        self.queue: deque[tuple[bytes | None, float]] = deque()
        self.busy = False  # holding the head of the queue (timer running or stalled)
        self.closed = False
        self.timer: asyncio.TimerHandle | None = None
        self.on_held: Callable[[int], None] = lambda n: None
        self.active = self._roll()

    def _roll(self) -> bool:
        return random.random() < self.toxic.toxicity

    # -- flow -------------------------------------------------------------

    def push(self, data: bytes | None, ts: float) -> None:
        """Accept a chunk (or EOF) from the stage before."""
        if self.closed:
            return
        if not self.active:
            self.out(data, ts)
            return
        self.queue.append((data, ts))
        if data:
            self.on_held(len(data))
        if not self.busy:
            self.drain()

    def pop(self) -> tuple[bytes | None, float]:
        data, ts = self.queue.popleft()
        if data:
            self.on_held(-len(data))
        return data, ts

    def drain(self) -> None:
        """Work through the queue until it is empty or the stage must wait."""
        while self.queue and not self.busy and not self.closed:
            data, ts = self.pop()
            if data is None or not self.active:
                self.forward(data, ts)
            else:
                self.handle(data, ts)

    def forward(self, data: bytes | None, ts: float) -> None:
        """Pass on; EOF closes the stage (Go: `stub.Close()`)."""
        if data is None:
            self.close()
        else:
            self.out(data, ts)

    def handle(self, data: bytes, ts: float) -> None:
        self.out(data, ts)

    def wait(self, delay: float, then: Callable[[], None]) -> None:
        """Hold the queue for `delay` seconds, then run `then` and keep draining."""
        self.wait_until(now() + delay, then)

    def wait_until(self, deadline: float, then: Callable[[], None]) -> None:
        """Hold the queue until `now() >= deadline` (never earlier), then run `then` and keep draining."""
        self.busy = True

        def fire() -> None:
            remaining = deadline - now()
            if remaining > 0:  # the loop's coarse timer fired early: wait for the rest
                self.timer = self.loop.call_later(max(remaining, _MIN_REARM), fire)
                return
            self.timer = None
            self.busy = False
            then()
            self.drain()

        self.timer = self.loop.call_later(max(deadline - now(), 0.0), fire)

    def close(self) -> None:
        """Close the stub: later input is dropped and EOF goes down the chain."""
        if self.closed:
            return
        self.cancel()
        self.closed = True
        for data, _ in self.queue:
            if data:
                self.on_held(-len(data))
        self.queue.clear()
        self.out(None, now())

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.busy = False

    # -- live changes -----------------------------------------------------

    def start(self) -> None:
        """Called when the stage starts running on a link (at link start or when added)."""

    def interrupt(self) -> None:
        """Stop waiting; forward the chunk being worked on at once (nothing is dropped)."""
        self.cancel()

    def restart(self) -> None:
        """Run again after an interrupt: re-roll toxicity, then go on with the queue."""
        if self.closed:
            return
        self.active = self._roll()
        self.start()
        self.drain()

    def flush(self) -> None:
        """Being removed: forward everything held at once, in order."""
        self.interrupt()
        while self.queue and not self.closed:
            self.forward(*self.pop())

    def cleanup(self) -> bool:
        """On removal; True if the toxic closed the link (the `timeout` toxic does)."""
        return False


class LatencyStage(Stage):
    """Delay each chunk by latency ± jitter, measured from when it was received."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.held: tuple[bytes, float, float] | None = None

    def push(self, data: bytes | None, ts: float) -> None:
        # the `latency: 0` fast path: nothing queued, nothing to wait for
        if data is not None and self.active and not self.busy and not self.queue and not self.closed:
            attrs = self.toxic.attributes
            if attrs.get("jitter", 0) <= 0 and attrs.get("latency", 0) <= 0:
                self.out(data, ts)
                return
        super().push(data, ts)

    def _delay(self) -> float:
        latency, jitter = self.toxic.attr("latency"), self.toxic.attr("jitter")
        if jitter > 0:
            latency += random.randrange(2 * jitter) - jitter
        return latency / 1000.0

    def handle(self, data: bytes, ts: float) -> None:
        delay = self._delay()
        sleep = delay - (now() - ts)
        if sleep <= 0:
            self.out(data, ts)
            return
        self.held = (data, ts, sleep)
        self.wait_until(ts + delay, self._release)

    def _release(self) -> None:
        if self.held is not None:
            data, ts, sleep = self.held
            self.held = None
            self.out(data, ts + sleep)

    def interrupt(self) -> None:
        super().interrupt()
        self._release_now()

    def _release_now(self) -> None:
        if self.held is not None:
            data, ts, _ = self.held
            self.held = None
            self.out(data, ts)


class BandwidthStage(Stage):
    """Limit throughput to `rate` KB/s; big chunks go out in 100 ms slices; rate ≤ 0 stalls."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.sleep = 0.0
        self.rest: tuple[bytes, float] | None = None

    def handle(self, data: bytes, ts: float) -> None:
        rate = self.toxic.attr("rate")
        self.sleep = self.sleep + len(data) / (rate * 1000.0) if rate > 0 else 0.0
        self.rest = (data, ts)
        self._step()

    def _slice_size(self) -> int:
        return wrap64(self.toxic.attr("rate") * 100)  # Go's int64 `t.Rate*100` (negative is refused by the API)

    def _step(self) -> None:
        assert self.rest is not None
        data, ts = self.rest
        size = self._slice_size()
        if len(data) > size:
            if size <= 0:
                self.busy = True  # Go sends empty slices forever: no byte is ever delivered
                return
            self.wait(0.1, self._slice)
            return
        started = now()

        def send() -> None:
            self.sleep -= now() - started
            self.rest = None
            self.out(data, ts)

        self.wait(self.sleep, send)

    def _slice(self) -> None:
        assert self.rest is not None
        data, ts = self.rest
        size = self._slice_size()
        self.rest = (data[size:], ts)
        self.sleep -= 0.1
        self.out(data[:size], ts)
        if not self.closed:
            self._step()  # sets the next timer, so the queue stays held

    def interrupt(self) -> None:
        super().interrupt()
        self.sleep = 0.0
        if self.rest is not None:
            data, ts = self.rest
            self.rest = None
            if data:
                self.out(data, ts)


class SlowCloseStage(Stage):
    """Pass data; delay the close after EOF by `delay` ms."""

    def drain(self) -> None:
        while self.queue and not self.busy and not self.closed:
            data, ts = self.queue[0]
            if data is None and self.active:
                self.wait(self.toxic.attr("delay") / 1000.0, self.close)
                return
            self.forward(*self.pop())


class TimeoutStage(Stage):
    """Drop all data; close `timeout` ms after start or the last chunk (never if 0)."""

    def start(self) -> None:
        self._arm()

    def _arm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.active and self.toxic.attr("timeout") > 0:
            self.timer = self.loop.call_later(self.toxic.attr("timeout") / 1000.0, self.close)

    def handle(self, data: bytes, ts: float) -> None:
        self._arm()  # Go re-creates time.After on every loop turn

    def cleanup(self) -> bool:
        self.close()
        return True


class ResetPeerStage(Stage):
    """On the first chunk (or EOF): wait `timeout` ms, then close (an RST: linger is 0)."""

    def drain(self) -> None:
        while self.queue and not self.busy and not self.closed:
            data, _ = self.pop()
            if not self.active:
                self.forward(data, now())
                continue
            self.wait(self.toxic.attr("timeout") / 1000.0, self.close)
            return


class SlicerStage(Stage):
    """Cut each chunk into pieces of about average_size ± size_variation, `delay` µs apart."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.pieces: deque[bytes] = deque()
        self.ts = 0.0

    def _bounds(self, start: int, end: int, avg: int, var: int, out: list[int]) -> None:
        while True:  # iterative form of Go's recursive chunk(); mid is kept inside (start, end)
            if (end - start) - avg <= var or end - start <= 1:  # one byte cannot be cut further
                out.append(end)
                return
            mid = start + (end - start) // 2
            if var > 0:
                mid += random.randrange(var * 2) - var
            mid = min(max(mid, start + 1), end - 1)
            self._bounds(start, mid, avg, var, out)
            start = mid

    def handle(self, data: bytes, ts: float) -> None:
        # as Go, unclamped: the API refuses the values that crash it (average + variation < 1,
        # variation > average + 1), and with the rest a split point always lies inside the chunk
        avg = self.toxic.attr("average_size")
        var = self.toxic.attr("size_variation")
        cuts = [0]
        self._bounds(0, len(data), avg, var, cuts)
        self.pieces = deque(data[a:b] for a, b in zip(cuts, cuts[1:], strict=False) if b > a)
        self.ts = ts
        self._next()

    def _next(self) -> None:
        delay = self.toxic.attr("delay") / 1_000_000.0
        while self.pieces:
            self.out(self.pieces.popleft(), self.ts)
            if delay > 0:
                self.wait(delay, self._next)
                return

    def interrupt(self) -> None:
        super().interrupt()
        if self.pieces:
            rest = b"".join(self.pieces)
            self.pieces.clear()
            self.out(rest, self.ts)


class LimitDataStage(Stage):
    """Forward at most `bytes` in this direction per link (kept across restarts), then close."""

    def start(self) -> None:
        self.state.setdefault("sent", 0)

    def handle(self, data: bytes, ts: float) -> None:
        remaining = max(self.toxic.attr("bytes") - self.state["sent"], 0)
        data = data[:remaining]
        if data:
            self.state["sent"] += len(data)
            self.out(data, ts)
        if self.toxic.attr("bytes") - self.state["sent"] <= 0:
            self.close()


_STAGES: dict[str, type[Stage]] = {
    "noop": Stage,
    "latency": LatencyStage,
    "bandwidth": BandwidthStage,
    "slow_close": SlowCloseStage,
    "timeout": TimeoutStage,
    "reset_peer": ResetPeerStage,
    "slicer": SlicerStage,
    "limit_data": LimitDataStage,
}


def make_stage(toxic: Toxic, loop: asyncio.AbstractEventLoop, out: Out, state: dict[str, Any]) -> Stage:
    """The stage that runs `toxic` on one link direction."""
    return _STAGES[toxic.type](toxic, loop, out, state)
