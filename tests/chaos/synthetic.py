"""Synthetic sample frames for the chaos tests: known traffic, known faults."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from harness.chaos._experiment import HealthyRule
from harness.chaos._failover import FaultWindow

T0 = 1_000_000.0
RULE = HealthyRule(window=1.0, consecutive=5, max_error_ratio=0.01, max_p95_ms=100.0, min_requests=5)


def frame(
    seconds: float,
    *,
    rate: int = 20,
    bad: Callable[[float], bool] = lambda t: False,
    slow: Callable[[float], bool] = lambda t: False,
    region: Callable[[float], str] = lambda t: "primary",
) -> pd.DataFrame:
    """`rate` requests per second for `seconds`; `bad(t)` fails them, `slow(t)` makes them 300 ms."""
    offsets = np.arange(0, seconds, 1 / rate)
    latency = [300.0 if slow(t) else 20.0 for t in offsets]
    return pd.DataFrame(
        {
            "ts": T0 + offsets,
            "intended_ts": T0 + offsets,
            "name": "POST /v1/route",
            "method": "POST",
            "status": [503 if bad(t) else 200 for t in offsets],
            "ok": [not bad(t) for t in offsets],
            "error_kind": ["http" if bad(t) else "" for t in offsets],
            "latency_ms": latency,
            "co_latency_ms": latency,
            "bytes": 100,
            "revision": "baseline",
            "region": [region(t) for t in offsets],
            "worker": "0",
        }
    )


def fault(at: float, until: float | None, judge: tuple[str, ...] = ("failover", "recovery")) -> FaultWindow:
    return FaultWindow("outage", "link", "down", T0 + at, None if until is None else T0 + until, judge)


