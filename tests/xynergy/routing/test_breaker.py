"""The circuit breaker's state machine, on a controllable clock."""

from __future__ import annotations

import random

from xynergy.routing import BreakerState, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker("primary", failure_threshold=3, base_backoff_s=1.0, max_backoff_s=8.0,
                          jitter=0.2, clock=clock, rng=random.Random(7))


def test_breaker_opens_after_the_threshold_of_consecutive_failures() -> None:
    b = breaker(Clock())
    for _ in range(2):
        assert b.allow()
        b.record_failure()
    assert b.state == BreakerState.CLOSED
    b.record_failure()
    assert b.state == BreakerState.OPEN
    assert not b.allow()


def test_a_success_resets_the_failure_count() -> None:
    b = breaker(Clock())
    b.record_failure(), b.record_failure(), b.record_success(), b.record_failure(), b.record_failure()
    assert b.state == BreakerState.CLOSED


def test_half_open_lets_exactly_one_probe_through_and_its_success_closes() -> None:
    clock = Clock()
    b = breaker(clock)
    for _ in range(3):
        b.record_failure()
    clock.now += 1.3
    assert b.allow()
    assert b.state == BreakerState.HALF_OPEN
    assert not b.allow()
    b.record_success()
    assert b.state == BreakerState.CLOSED and b.allow()


def test_failed_probes_double_the_backoff_up_to_the_cap_with_jitter() -> None:
    clock = Clock()
    b = breaker(clock)
    for _ in range(3):
        b.record_failure()
    periods = []
    for _ in range(6):
        periods.append(b.open_until - clock.now)
        clock.now = b.open_until
        assert b.allow()
        b.record_failure()
    for expected, got in zip([1, 2, 4, 8, 8, 8], periods):
        assert 0.8 * expected <= got <= 1.2 * expected
    assert len({round(p, 6) for p in periods[3:]}) == 3  # jitter: equal caps, different periods


def test_an_abandoned_probe_lets_another_request_probe() -> None:
    clock = Clock()
    b = breaker(clock)
    for _ in range(3):
        b.record_failure()
    clock.now += 2
    assert b.allow() and not b.allow()
    b.abandon()
    assert b.allow()
