"""Failover and recovery measured from the samples and the fault journal.

Pure pandas: the samples DataFrame (one row per request, `harness.samples`
columns) is cut into fixed windows aligned on the moment a fault was injected
(or removed), each window is judged healthy or not by an explicit
`HealthyRule`, and the first run of consecutive healthy windows marks the
failover (during the fault) or the recovery (after it). Nothing here talks to
a process, so every edge of the rule is pinned by tests on synthetic frames.

A 1-second window holds a handful of requests, so its error ratio and p95
are thin data: one error in twenty, or the one slow request that *is* the
p95 of twenty, prove nothing. A window therefore counts as unhealthy only
when its own requests prove it (the one-sided lower bound of its error ratio,
exact Clopper–Pearson, or of its p95, an order statistic, is beyond the rule
at confidence 1 − `WINDOW_ALPHA`), or when it has fewer than the rule's
minimum requests (silence is not health). Each window is judged once, after
the run, so these are fixed-sample bounds, not sequences. And a measured
failover or recovery that misses its objective while the load generator
could not keep its schedule is INCONCLUSIVE, not FAIL.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from harness._verdicts import Check, Verdict
from harness.chaos._experiment import HealthyRule
from harness.slo import SLO, judge_measurement
from scipy import stats as scistats

from harness.stats import generator_health

#: Per window, the confidence with which its requests must prove it unhealthy.
WINDOW_ALPHA = 0.01

__all__ = [
    "FaultWindow",
    "FaultMeasurement",
    "window_stats",
    "first_sustained_healthy",
    "measure_fault",
    "measure_faults",
    "failover_checks",
    "primary_region_of",
]


@dataclass(frozen=True)
class FaultWindow:
    """When one fault was active (epoch seconds); `removed_at` None = never removed."""

    action: str
    target: str
    kind: str
    injected_at: float
    removed_at: float | None
    judge: tuple[str, ...] = ()


@dataclass(frozen=True)
class FaultMeasurement:
    """What one fault did to the traffic. Times are seconds; None = did not happen."""

    action: str
    target: str
    kind: str
    injected_at: float
    removed_at: float | None
    first_error_s: float | None
    failover_s: float | None
    recovery_s: float | None
    requests: int
    failed: int
    error_ratio: float | None
    primary_region: str | None
    primary_returned: bool | None
    primary_return_s: float | None
    rule: str
    judge: tuple[str, ...] = ()
    after_requests: int | None = None
    """Requests from the fault's removal to the end of the run (None: never removed)."""
    recovery_observable: bool | None = None
    """Whether the run after the fault's removal had enough windows with the rule's minimum of
    requests to hold one sustained healthy run (None: never removed)."""
    generator: str = ""
    """Why the load generator was saturated before the fault ('' when it kept its schedule)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (NaN becomes None)."""
        data = asdict(self)
        data["judge"] = list(self.judge)
        for key, value in data.items():
            if isinstance(value, float) and not math.isfinite(value):
                data[key] = None
        return data


def window_stats(samples: pd.DataFrame, start: float, end: float, width: float = 1.0) -> pd.DataFrame:
    """Per-window request count, errors, error ratio and p95 latency over [start, end).

    Windows are aligned on `start`; only whole windows are returned, empty
    ones included (with 0 requests), so a silence shows as a gap in health.
    `error_low` and `p95_low` are the lower bounds of the window's error ratio
    and p95 at confidence 1 − `WINDOW_ALPHA` (what the window proves).
    """
    count = max(0, int(math.floor((end - start) / width + 1e-9)))
    index = pd.RangeIndex(count, name="window")
    columns = ["start", "offset_s", "requests", "errors", "error_ratio", "p95_ms", "error_low", "p95_low"]
    if count == 0:
        return pd.DataFrame(columns=columns)
    frame = samples.loc[(samples["ts"] >= start) & (samples["ts"] < start + count * width), ["ts", "ok", "latency_ms"]]
    slot = np.floor((frame["ts"].to_numpy(dtype=float) - start) / width).astype(int)
    grouped = frame.assign(window=slot).groupby("window")
    stats = pd.DataFrame(
        {
            "requests": grouped.size(),
            "errors": grouped["ok"].apply(lambda ok: int((~ok.astype(bool)).sum())),
            "p95_ms": grouped["latency_ms"].quantile(0.95),
        }
    ).reindex(index)
    stats["requests"] = stats["requests"].fillna(0).astype(int)
    stats["errors"] = stats["errors"].fillna(0).astype(int)
    stats["error_ratio"] = stats["errors"] / stats["requests"].where(stats["requests"] > 0)
    n = stats["requests"].to_numpy()
    errors = stats["errors"].to_numpy()
    with np.errstate(invalid="ignore"):
        low = scistats.beta.ppf(WINDOW_ALPHA, errors, n - errors + 1)  # Clopper–Pearson, one-sided
    stats["error_low"] = np.where(n > 0, np.where(errors > 0, low, 0.0), np.nan)
    stats["p95_low"] = _p95_lower_bounds(frame["latency_ms"].to_numpy(dtype=float), slot, count)
    stats["offset_s"] = index.to_numpy() * width
    stats["start"] = start + stats["offset_s"]
    return stats.reset_index()[["window", *columns]]


def _p95_lower_bounds(latency: np.ndarray, slot: np.ndarray, count: int) -> np.ndarray:
    """Per window: the lower bound of its p95 (order statistic X(s_lo)), -inf when it has none."""
    out = np.full(count, -np.inf)
    if not len(latency):
        return out
    order = np.lexsort((latency, slot))
    slots, sorted_lat = slot[order], latency[order]
    starts = np.searchsorted(slots, np.arange(count), side="left")
    sizes = np.searchsorted(slots, np.arange(count), side="right") - starts
    has = sizes > 0
    # X(l) <= p95 unless Bin(n, 0.95) < l: the largest l with P(Bin(n, 0.95) <= l - 1) <= alpha
    s_lo = scistats.binom.ppf(WINDOW_ALPHA, np.maximum(sizes, 1), 0.95).astype(int)
    ok = has & (s_lo >= 1)
    out[ok] = sorted_lat[starts[ok] + s_lo[ok] - 1]
    return out


def _healthy(stats: pd.DataFrame, rule: HealthyRule) -> pd.Series:
    """Enough requests, and neither the error ratio nor the p95 provably over the rule."""
    return (
        (stats["requests"] >= rule.min_requests)
        & (stats["error_low"].fillna(1.0) < rule.max_error_ratio)
        & (stats["p95_low"].fillna(math.inf) < rule.max_p95_ms)
    )


def first_sustained_healthy(samples: pd.DataFrame, start: float, end: float, rule: HealthyRule) -> float | None:
    """Seconds from `start` to the first run of `rule.consecutive` healthy windows before `end`.

    None when no such run fits inside [start, end): a shorter healthy blip
    does not count, and neither does a run cut off by `end`.
    """
    stats = window_stats(samples, start, end, rule.window)
    if len(stats) < rule.consecutive:
        return None
    healthy = _healthy(stats, rule).astype(int)
    runs = healthy.rolling(rule.consecutive).sum()
    hits = np.flatnonzero(runs.to_numpy() == rule.consecutive)
    if hits.size == 0:
        return None
    first = int(hits[0]) - rule.consecutive + 1
    return float(stats["offset_s"].iloc[first])


def primary_region_of(samples: pd.DataFrame, before: float) -> str | None:
    """The region that served most requests before `before` (the steady state's primary)."""
    if "region" not in samples.columns:
        return None
    regions = samples.loc[samples["ts"] < before, "region"].astype(str)
    regions = regions[regions.str.len() > 0]
    if regions.empty:
        return None
    return str(regions.value_counts().idxmax())


def _primary_return(samples: pd.DataFrame, start: float, end: float, primary: str, width: float) -> float | None:
    """Seconds from `start` to the first window where the primary region serves most requests."""
    if "region" not in samples.columns:
        return None
    frame = samples.loc[(samples["ts"] >= start) & (samples["ts"] < end), ["ts", "region"]]
    frame = frame[frame["region"].astype(str).str.len() > 0]
    if frame.empty:
        return None
    slot = np.floor((frame["ts"].to_numpy(dtype=float) - start) / width).astype(int)
    share = (frame["region"].astype(str) == primary).groupby(slot).mean()
    returned = share[share >= 0.5]
    return None if returned.empty else float(returned.index[0] * width)


def measure_fault(
    samples: pd.DataFrame,
    fault: FaultWindow,
    rule: HealthyRule,
    *,
    run_end: float,
    primary_region: str | None = None,
) -> FaultMeasurement:
    """Measure one fault: first error, failover, recovery, errors, return to the primary region.

    Failover is searched while the fault is active ([injected, removed)), or
    until `run_end` when it never was removed; recovery from its removal to
    `run_end`.
    """
    fault_end = fault.removed_at if fault.removed_at is not None else run_end
    during = samples.loc[(samples["ts"] >= fault.injected_at) & (samples["ts"] < fault_end)]
    failed = during.loc[~during["ok"].astype(bool)]
    first_error = None if failed.empty else float(failed["ts"].min() - fault.injected_at)
    recovery = None
    primary_return = None
    if fault.removed_at is not None:
        recovery = first_sustained_healthy(samples, fault.removed_at, run_end, rule)
        if primary_region is not None:
            primary_return = _primary_return(samples, fault.removed_at, run_end, primary_region, rule.window)
    after_requests = observable = None
    if fault.removed_at is not None:
        after_requests = int(((samples["ts"] >= fault.removed_at) & (samples["ts"] < run_end)).sum())
        after = window_stats(samples, fault.removed_at, run_end, rule.window)
        observable = bool((after["requests"] >= rule.min_requests).sum() >= rule.consecutive)
    # judged before the fault: during it, requests that hang on the fault hold Locust's users and
    # make the pacer late — that lateness is the platform's doing, not the generator's
    before = float(samples["ts"].min()) if len(samples) else fault.injected_at
    health = generator_health(samples, window=(before, fault.injected_at))
    returned = None
    if primary_region is not None and fault.removed_at is not None and "region" in samples.columns:
        after = samples.loc[samples["ts"] >= fault.removed_at, "region"].astype(str)
        returned = None if (after.str.len() > 0).sum() == 0 else primary_return is not None
    return FaultMeasurement(
        action=fault.action,
        target=fault.target,
        kind=fault.kind,
        injected_at=fault.injected_at,
        removed_at=fault.removed_at,
        first_error_s=first_error,
        failover_s=first_sustained_healthy(samples, fault.injected_at, fault_end, rule),
        recovery_s=recovery,
        requests=int(len(during)),
        failed=int(len(failed)),
        error_ratio=None if during.empty else float(len(failed) / len(during)),
        primary_region=primary_region,
        primary_returned=returned,
        primary_return_s=primary_return,
        rule=rule.describe() + f" (not proven otherwise at {1 - WINDOW_ALPHA:.0%} confidence)",
        judge=fault.judge,
        after_requests=after_requests,
        recovery_observable=observable,
        generator="; ".join(health.reasons),
    )


def measure_faults(
    samples: pd.DataFrame,
    faults: Iterable[FaultWindow],
    rule: HealthyRule,
    *,
    run_end: float,
    primary_region: str | None = None,
) -> list[FaultMeasurement]:
    """Measure every fault; the primary region defaults to the busiest one before the first fault."""
    faults = list(faults)
    if primary_region is None and faults:
        primary_region = primary_region_of(samples, min(f.injected_at for f in faults))
    return [measure_fault(samples, f, rule, run_end=run_end, primary_region=primary_region) for f in faults]


def failover_checks(measurements: Iterable[FaultMeasurement], slo: SLO) -> list[Check]:
    """Judge the figures each fault asked for (`judge: [failover, recovery]`) against `slo`.

    Measured values go through `harness.slo.judge_measurement`. A figure that
    never happened (None: no sustained healthy run in the window) is a FAIL,
    not an INCONCLUSIVE: not recovering is what the game day exists to catch —
    unless the data could not show it: a recovery window with too few requests
    to ever hold a healthy run, or a load generator that could not keep its
    schedule (then a FAIL of either kind is INCONCLUSIVE, naming why).
    """
    checks: list[Check] = []
    for m in measurements:
        for what in m.judge:
            value = m.failover_s if what == "failover" else m.recovery_s
            judged = judge_measurement(
                slo, value, samples=m.requests, scope=m.target, kind="failover", detail=f"rule: {m.rule}"
            )
            if value is None:
                never = "failed over" if what == "failover" else "recovered"
                judged = replace(judged, verdict=Verdict.FAIL, detail=f"never {never}: no run of {m.rule}")
                if what == "recovery" and m.recovery_observable is False:
                    judged = replace(judged, verdict=Verdict.INCONCLUSIVE, detail=(
                        f"recovery not observable: {m.after_requests} requests after the fault's removal, too few "
                        f"to hold one run of {m.rule}"))
            if judged.verdict is Verdict.FAIL and m.generator:
                judged = replace(judged, verdict=Verdict.INCONCLUSIVE, detail=(
                    f"load generator saturated: {m.generator} (would FAIL: {judged.detail})"),
                    extra={**judged.extra, "verdict_before_generator_check": "fail"})
            checks.append(replace(judged, name=f"{what}/{m.action}", extra={**judged.extra, "slo": slo.name}))
    return checks

