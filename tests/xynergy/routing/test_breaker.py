"""The circuit breaker's state machine and its failure-rate rule, on a controllable clock."""

from __future__ import annotations

import random

import pytest

from xynergy.routing import BreakerState, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock, **kw) -> CircuitBreaker:
    kw = {"failure_rate": 0.5, "window_s": 3.0, "min_calls": 3, **kw}
    return CircuitBreaker("primary", base_backoff_s=1.0, max_backoff_s=8.0, jitter=0.2, clock=clock,
                          rng=random.Random(7), **kw)


def trip(b: CircuitBreaker) -> None:
    for _ in range(b.min_calls):
        b.record_failure()
    assert b.state == BreakerState.OPEN


def test_breaker_opens_when_half_the_calls_in_the_window_failed() -> None:
    clock = Clock()
    b = breaker(clock)
    for _ in range(4):
        b.record_success()
        clock.now += 0.1
    for _ in range(3):
        b.record_failure()
        clock.now += 0.1
    assert b.state == BreakerState.CLOSED  # 3 of 7
    b.record_failure()
    assert b.state == BreakerState.OPEN  # 4 of 8
    assert not b.allow()


def test_too_few_calls_never_open_it_however_many_failed() -> None:
    clock = Clock()
    b = breaker(clock, min_calls=3)
    for _ in range(5):
        b.record_failure()
        clock.now += 1.6  # each failure alone in its window: 1 or 2 calls
    assert b.state == BreakerState.CLOSED


def test_outcomes_older_than_the_window_no_longer_count() -> None:
    clock = Clock()
    b = breaker(clock)
    b.record_failure(), b.record_failure()
    clock.now += 3.5
    for _ in range(2):
        b.record_success()
    b.record_failure()
    assert b.state == BreakerState.CLOSED and (b.calls, b.failures) == (3, 1)


def test_a_revision_with_a_tenth_of_the_traffic_opens_when_its_baseline_does() -> None:
    """A blackholed region: every call fails after a 1 s timeout; 18 req/s vs 2 req/s."""
    opened_at = {}
    for name, rate in (("baseline", 18.0), ("canary", 2.0)):
        clock = Clock()
        b = breaker(clock)
        outcomes = []  # (time the call ends, failed)
        t = 0.0
        while t < 20:
            outcomes.append((t + (1.0 if t >= 10 else 0.01), t >= 10))  # the outage starts at t = 10 s
            t += 1 / rate
        for ended, failed in sorted(outcomes):
            clock.now = 100 + ended
            if b.state == BreakerState.CLOSED:
                b.record_failure() if failed else b.record_success()
            elif name not in opened_at:
                opened_at[name] = ended
    assert opened_at["baseline"] == pytest.approx(opened_at["canary"], abs=0.6)
    assert 11 <= opened_at["canary"] <= 13


def test_half_open_lets_exactly_one_probe_through_and_its_success_closes_with_an_empty_window() -> None:
    clock = Clock()
    b = breaker(clock)
    trip(b)
    clock.now += 1.3
    assert b.allow()
    assert b.state == BreakerState.HALF_OPEN
    assert not b.allow()
    b.record_success()
    assert b.state == BreakerState.CLOSED and b.allow()
    b.record_failure(), b.record_failure()
    assert b.state == BreakerState.CLOSED  # the failures before it opened are forgotten


def test_failed_probes_double_the_backoff_up_to_the_cap_with_jitter() -> None:
    clock = Clock()
    b = breaker(clock)
    trip(b)
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
    trip(b)
    clock.now += 2
    assert b.allow() and not b.allow()
    b.abandon()
    assert b.allow()


def test_nonsense_settings_are_refused() -> None:
    for bad in ({"failure_rate": 0}, {"failure_rate": 1.5}, {"window_s": 0}, {"min_calls": 0}):
        with pytest.raises(ValueError):
            breaker(Clock(), **bad)
