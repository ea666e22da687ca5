"""A circuit breaker per upstream region: closed → open → half-open → closed.

After ``failure_threshold`` consecutive failures the breaker opens and callers
skip the region at once (fast failover) instead of paying its timeout. After a
backoff that doubles with every failed probe (capped, with jitter so replicas
do not probe in lockstep) one request is let through as a half-open probe: its
success closes the breaker, its failure re-opens it for longer.
"""

from __future__ import annotations

import enum
import random
import time
from collections.abc import Callable

__all__ = ["BreakerState", "CircuitBreaker"]


class BreakerState(enum.IntEnum):
    """Values as exported in ``xynergy_breaker_state``."""

    CLOSED = 0
    OPEN = 1
    HALF_OPEN = 2


class CircuitBreaker:
    """Decides whether a call to one region may go ahead; fed with the outcomes."""

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        base_backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        jitter: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        on_change: Callable[[str, BreakerState], None] | None = None,
    ) -> None:
        self.name = name
        self.failure_threshold = failure_threshold
        self.base_backoff_s = base_backoff_s
        self.max_backoff_s = max_backoff_s
        self.jitter = jitter
        self.clock = clock
        self.rng = rng or random.Random()
        self.on_change = on_change
        self.state = BreakerState.CLOSED
        self.failures = 0
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

    def record_success(self) -> None:
        self.failures = 0
        self.opened_count = 0
        self.probe_in_flight = False
        self._set(BreakerState.CLOSED)

    def record_failure(self) -> None:
        if self.state == BreakerState.HALF_OPEN:
            self._open()
            return
        self.failures += 1
        if self.state == BreakerState.CLOSED and self.failures >= self.failure_threshold:
            self._open()

    def abandon(self) -> None:
        """A probe ended with no verdict (cancelled): let another one try."""
        self.probe_in_flight = False

    def _open(self) -> None:
        self.opened_count += 1
        self.probe_in_flight = False
        self.open_until = self.clock() + self.backoff_s()
        self._set(BreakerState.OPEN)
