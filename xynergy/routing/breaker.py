"""A circuit breaker per upstream region: closed → open → half-open → closed.

It opens on a failure *rate* over a sliding time window with a minimum
throughput, as resilience4j's time-based window and Polly's advanced breaker
do: at least ``failure_rate`` of the calls that ended in the last
``window_s`` seconds failed, and at least ``min_calls`` ended. Why not N
consecutive failures: a canary with a tenth of the traffic needs ten times as
long to collect N failures, so it kept paying the region's timeout long
after its baseline had failed over, and a healthy canary was rolled back for
a property of its traffic share. A rate over time decides at the same moment
for both, as long as each ends ``min_calls`` calls in the window.

After opening, callers skip the region at once (fast failover) instead of
paying its timeout. After a backoff that doubles with every failed probe
(capped, with jitter so replicas do not probe in lockstep) one request is let
through as a half-open probe: its success closes the breaker with an empty
window, its failure re-opens it for longer.
"""

from __future__ import annotations

import collections
import enum
import random
import time
from collections.abc import Callable

__all__ = ["BreakerState", "CircuitBreaker"]

_BUCKETS = 10
"""The window is kept as this many time buckets: O(1) per call, evicted as time moves on."""


class BreakerState(enum.IntEnum):
    """Values as exported in ``xynergy_breaker_state``."""

    CLOSED = 0
    OPEN = 1
    HALF_OPEN = 2


class CircuitBreaker:
    """Decides whether a call to one region may go ahead; fed with the outcomes.

    **Parameters:** ``failure_rate`` (0-1] share of failed calls that opens it;
    ``window_s`` how far back outcomes count; ``min_calls`` calls that must
    have ended in the window before the rate counts; the backoff settings for
    the open period; ``clock``/``rng`` for tests.
    """

    def __init__(
        self,
        name: str,
        *,
        failure_rate: float = 0.5,
        window_s: float = 3.0,
        min_calls: int = 3,
        base_backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        jitter: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        on_change: Callable[[str, BreakerState], None] | None = None,
    ) -> None:
        if not 0 < failure_rate <= 1 or window_s <= 0 or min_calls < 1:
            raise ValueError("failure_rate must be in (0, 1], window_s > 0 and min_calls >= 1")
        self.name = name
        self.failure_rate = failure_rate
        self.window_s = window_s
        self.min_calls = min_calls
        self.base_backoff_s = base_backoff_s
        self.max_backoff_s = max_backoff_s
        self.jitter = jitter
        self.clock = clock
        self.rng = rng or random.Random()
        self.on_change = on_change
        self.state = BreakerState.CLOSED
        self.calls = 0
        """Calls that ended in the window (as of the last outcome recorded)."""
        self.failures = 0
        """Failed calls among them."""
        self._width = window_s / _BUCKETS
        self._buckets: collections.deque[list[int]] = collections.deque()  # [bucket index, calls, failures]
        self.opened_count = 0
        """Consecutive openings without a success; drives the backoff exponent."""
        self.open_until = 0.0
        self.probe_in_flight = False

    def _set(self, state: BreakerState) -> None:
        if state != self.state:
            self.state = state
            if self.on_change is not None:
                self.on_change(self.name, state)

    def backoff_s(self) -> float:
        """The next open period: base · 2^(openings-1), capped, ± jitter."""
        raw = min(self.max_backoff_s, self.base_backoff_s * 2 ** max(0, self.opened_count - 1))
        return float(raw * self.rng.uniform(1 - self.jitter, 1 + self.jitter))

    def allow(self) -> bool:
        """May a call go ahead now? In half-open only the single probe may."""
        if self.state == BreakerState.CLOSED:
            return True
        if self.state == BreakerState.OPEN and self.clock() >= self.open_until:
            self._set(BreakerState.HALF_OPEN)
        if self.state == BreakerState.HALF_OPEN and not self.probe_in_flight:
            self.probe_in_flight = True
            return True
        return False

    def _count(self, failed: bool) -> None:
        """Add one outcome to the window, dropping buckets that fell out of it."""
        index = int(self.clock() // self._width)
        buckets = self._buckets
        while buckets and buckets[0][0] <= index - _BUCKETS:
            _, calls, failures = buckets.popleft()
            self.calls -= calls
            self.failures -= failures
        if not buckets or buckets[-1][0] != index:
            buckets.append([index, 0, 0])
        bucket = buckets[-1]
        bucket[1] += 1
        self.calls += 1
        if failed:
            bucket[2] += 1
            self.failures += 1

    def _reset_window(self) -> None:
        self._buckets.clear()
        self.calls = self.failures = 0

    def record_success(self) -> None:
        if self.state != BreakerState.CLOSED:  # the probe answered: start afresh
            self._reset_window()
            self.opened_count = 0
            self.probe_in_flight = False
            self._set(BreakerState.CLOSED)
            return
        self.opened_count = 0
        self._count(False)

    def record_failure(self) -> None:
        if self.state == BreakerState.HALF_OPEN:
            self._open()
            return
        if self.state == BreakerState.OPEN:
            return  # a call that started before the breaker opened: already decided
        self._count(True)
        if self.calls >= self.min_calls and self.failures >= self.failure_rate * self.calls:
            self._open()

    def abandon(self) -> None:
        """A probe ended with no verdict (cancelled): let another one try."""
        self.probe_in_flight = False

    def _open(self) -> None:
        self.opened_count += 1
        self.probe_in_flight = False
        self.open_until = self.clock() + self.backoff_s()
        self._reset_window()
        self._set(BreakerState.OPEN)
