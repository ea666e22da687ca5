"""The experiment's own checks: a figure over one window of the game day, judged.

Some promises only make sense during a fault — "a Redis outage keeps the
error ratio under 1 %", "with governance unreachable no request passes
unauthenticated" — so they are judged over the samples of the fault windows
(or before, after, or the whole run) rather than through an SLO file.

Ratios and quantiles carry an interval (the same confidence sequences as
the SLO judge, `harness.stats`, at `WINDOW_CHECKS_ALPHA` split across the
experiment's checks): FAIL only when the interval lies beyond the objective,
PASS only when within it, otherwise INCONCLUSIVE with the sample count that
would likely decide. Counts (`successes`, `failures`, `requests`) are exact.
A latency FAIL over a window in which the load generator could not keep its
schedule is INCONCLUSIVE, naming the saturation.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from harness._verdicts import Check, Verdict
from harness.chaos._experiment import WindowCheck
from harness.chaos._failover import FaultWindow
from harness.slo import SLO, evaluate
from harness.stats import (
    decide,
    downgrade_if_saturated,
    generator_health,
    prior,
    proportion_cs,
    quantile_cs,
    samples_to_exclude,
)

#: False-FAIL budget of all of one experiment's window checks together.
WINDOW_CHECKS_ALPHA = 0.01

__all__ = ["window_mask", "evaluate_window_checks"]

_OPS: dict[str, Callable[[float, float], bool]] = {
    "lt": operator.lt, "lte": operator.le, "gt": operator.gt, "gte": operator.ge,
}
_UNITS = {"error-ratio": "ratio", "p95-ms": "ms", "p99-ms": "ms", "successes": "requests",
          "failures": "requests", "requests": "requests"}


def window_mask(
    samples: pd.DataFrame, window: str, faults: Sequence[FaultWindow], *, run_start: float, run_end: float
) -> pd.Series:
    """Which samples fall in `window` (fault / before / after / run)."""
    ts = samples["ts"].astype(float)
    if window == "run" or not faults:
        inside = (ts >= run_start) & (ts < run_end)
        return inside if window in {"run", "before"} else inside & False
    first = min(f.injected_at for f in faults)
    last = max(f.removed_at if f.removed_at is not None else run_end for f in faults)
    if window == "before":
        return (ts >= run_start) & (ts < first)
    if window == "after":
        return (ts >= last) & (ts < run_end)
    mask = pd.Series(False, index=samples.index)
    for f in faults:
        end = f.removed_at if f.removed_at is not None else run_end
        mask |= (ts >= f.injected_at) & (ts < end)
    return mask


def _figure(metric: str, frame: pd.DataFrame) -> float | None:
    if metric == "requests":
        return float(len(frame))
    if metric == "failures":
        return float((~frame["ok"].astype(bool)).sum())
    if metric == "successes":
        status = frame["status"].astype(int)
        return float(((status >= 200) & (status < 300)).sum())
    if frame.empty:
        return None
    if metric == "error-ratio":
        return float((~frame["ok"].astype(bool)).mean())
    q = 0.95 if metric == "p95-ms" else 0.99
    return float(np.quantile(frame["latency_ms"].astype(float), q))


def evaluate_window_checks(
    samples: pd.DataFrame,
    checks: Iterable[WindowCheck],
    faults: Sequence[FaultWindow],
    *,
    run_start: float,
    run_end: float,
    slos: Mapping[str, SLO] | None = None,
    min_samples: int = 1,
) -> list[Check]:
    """Judge each check over its window; too few samples (or none matched) is INCONCLUSIVE.

    Counting checks (`successes`, `failures`) are judged even on a handful of
    samples, but a window without a single matching request is INCONCLUSIVE:
    "no unauthenticated success" proves nothing if none was attempted.
    """
    out: list[Check] = []
    checks = list(checks)
    alpha = WINDOW_CHECKS_ALPHA / max(1, len(checks))
    for check in checks:
        frame = samples.loc[window_mask(samples, check.window, faults, run_start=run_start, run_end=run_end)]
        if check.requests is not None:
            frame = frame.loc[frame["name"].astype(str).str.contains(re.compile(check.requests), regex=True)]
        if check.slo is not None:
            out.extend(_slo_checks(check, frame, slos or {}, alpha))
            continue
        assert check.metric is not None
        value = _figure(check.metric, frame)
        interval: tuple[float, float] | None = None
        needed: int | None = None
        where = f"over the {check.window} window" + (f", requests matching {check.requests!r}" if check.requests else "")
        if len(frame) < max(1, min_samples) or value is None:
            verdict = Verdict.INCONCLUSIVE
            detail = f"only {len(frame)} matching requests in the {check.window} window"
        elif check.metric in ("error-ratio", "p95-ms", "p99-ms"):
            interval, needed = _interval(check.metric, frame, check.op, float(check.value), alpha)
            verdict = decide(interval[0], interval[1], check.op, float(check.value))
            shown = f"{1 - alpha:.1%} interval [{_fmt(interval[0])}, {_fmt(interval[1])}]"
            if verdict is Verdict.INCONCLUSIVE:
                more = f"; ~{needed} requests would likely decide" if needed else ""
                detail = f"needs more data: {shown} straddles the objective{more} ({where})"
            else:
                needed = None
                detail = f"{shown} lies {'within' if verdict is Verdict.PASS else 'beyond'} the objective ({where})"
        else:
            verdict = Verdict.PASS if _OPS[check.op](value, check.value) else Verdict.FAIL
            detail = where
        judged = Check(
            name=check.name,
            verdict=verdict,
            value=value,
            objective=check.value,
            op=check.op,
            unit=_UNITS[check.metric],
            samples=int(len(frame)),
            scope=f"window={check.window}",
            kind="slo",
            detail=detail,
            extra={"metric": check.metric, "requests": check.requests},
            interval=interval,
            confidence=None if interval is None else 1 - alpha,
            samples_needed=needed,
        )
        if len(frame) and check.metric in ("p95-ms", "p99-ms"):
            [judged] = downgrade_if_saturated([judged], generator_health(frame))
        out.append(judged)
    return out


def _fmt(x: float) -> str:
    return f"{x:.4g}" if math.isfinite(x) else ("+inf" if x > 0 else "-inf")


def _interval(metric: str, frame: pd.DataFrame, op: str, goal: float, alpha: float) -> tuple[tuple[float, float], int | None]:
    """The confidence sequence around an error ratio or a latency quantile, and the n that would decide."""
    n = len(frame)
    if metric == "error-ratio":
        errors = int((~frame["ok"].astype(bool)).sum())
        a, b = prior(goal)
        lo, hi = proportion_cs(errors, n, alpha, a, b)
        return (float(lo[0]), float(hi[0])), samples_to_exclude(errors / n, goal, alpha, a, b, n)
    q = 0.95 if metric == "p95-ms" else 0.99
    values = frame["latency_ms"].to_numpy(dtype=float)
    below = float(np.mean(values < goal))
    return quantile_cs(values, q, alpha), samples_to_exclude(below, q, alpha, *prior(q), n)


def _slo_checks(check: WindowCheck, frame: pd.DataFrame, slos: Mapping[str, SLO], alpha: float) -> list[Check]:
    """Evaluate a named SLO over the window's samples; nothing to judge is INCONCLUSIVE."""
    slo = slos.get(str(check.slo))
    if slo is None:
        return [Check(name=check.name, verdict=Verdict.INCONCLUSIVE, value=None, objective=None, op="lte",
                      scope=f"window={check.window}", detail=f"SLO {check.slo!r} was not loaded")]
    results = evaluate([slo], frame, alpha=alpha)
    if not results:
        return [Check(name=check.name, verdict=Verdict.INCONCLUSIVE, value=None, objective=None, op="lte",
                      samples=int(len(frame)), scope=f"window={check.window}",
                      detail=f"SLO {slo.name!r} found no matching requests in the {check.window} window")]
    return [
        replace(c, name=check.name, scope=f"window={check.window} {c.scope}",
                detail=f"SLO {slo.name!r} over the {check.window} window" + (f": {c.detail}" if c.detail else ""),
                extra={**c.extra, "slo": slo.name})
        for c in results
    ]
