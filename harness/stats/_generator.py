"""Load-generator health: could Locust keep its schedule during the judged window?

An open-model generator that falls behind (CPU-starved, gevent loop blocked)
starts requests late; their service time then includes queueing on the
generator's own host, and an absolute latency FAIL may be the generator's
fault, not the platform's. The samples carry both the intended and the
actual start of every request, so lateness = ts − intended_ts. With the
target rate and the host's CPU, when known, they say whether the generator
was saturated. A contended host (PSI: runnable tasks waiting for a CPU) is
the same confound one level down: every hop of a request queues for a CPU
the platform shares with Locust and the harness. Canary-vs-baseline
comparisons see both on both sides and still count; only absolute latency
verdicts are downgraded (FAIL → INCONCLUSIVE, "load generator saturated: …"
or "host CPU contended: …").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from harness._verdicts import Check, Verdict

__all__ = ["GeneratorConfig", "GeneratorHealth", "generator_health", "downgrade_if_saturated", "is_latency_check",
           "LATENCY_COLUMNS"]

_CONTENDED = "host CPU contended:"
#: Reasons that can only make measured latency worse, never better.
_INFLATE_ONLY = ("pacer lateness", _CONTENDED)

#: Checks over these columns are absolute latency verdicts the generator can spoil.
LATENCY_COLUMNS = ("latency_ms", "co_latency_ms")


@dataclass(frozen=True)
class GeneratorConfig:
    """Thresholds of a healthy generator (Locust itself warns at 90 % CPU)."""

    max_lateness_ms: float = 10.0
    """p95 lateness allowed whatever the latencies…"""
    max_lateness_relative: float = 0.10
    """…or this fraction of the judged latency p95, whichever is larger."""
    min_rate_ratio: float = 0.90
    """Achieved rate below this share of the target rate is saturation."""
    max_cpu_percent: float = 90.0
    """Mean host CPU at or above this during the window is saturation."""
    max_cpu_pressure: float = 20.0
    """PSI: a share of wall time (%) with some runnable task waiting for a CPU at or above this is a contended
    host, where every hop of a request may queue for a CPU. Like pacer lateness it only inflates latency."""


@dataclass(frozen=True)
class GeneratorHealth:
    """Figures of one window and the reasons it counts as saturated (none: healthy)."""

    samples: int
    paced: int
    lateness_p50_ms: float | None
    lateness_p95_ms: float | None
    lateness_max_ms: float | None
    lateness_limit_ms: float | None
    achieved_rps: float | None
    target_rps: float | None
    cpu_percent: float | None
    reasons: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    cpu_pressure: float | None = None

    @property
    def saturated(self) -> bool:
        return bool(self.reasons)

    def summary(self) -> str:
        """One line: the figures, then why it is saturated."""
        parts = []
        if self.lateness_p95_ms is not None:
            parts.append(f"pacer lateness p50 {self.lateness_p50_ms:.1f} ms, p95 {self.lateness_p95_ms:.1f} ms "
                         f"(limit {self.lateness_limit_ms:.1f} ms), max {self.lateness_max_ms:.0f} ms")
        if self.achieved_rps is not None:
            target = f" of {self.target_rps:g} targeted" if self.target_rps else ""
            parts.append(f"{self.achieved_rps:.1f} req/s achieved{target}")
        if self.cpu_percent is not None:
            parts.append(f"host CPU {self.cpu_percent:.0f} %")
        if self.cpu_pressure is not None:
            parts.append(f"tasks waiting for a CPU {self.cpu_pressure:.0f} % of the time")
        parts.extend(self.notes)
        return "; ".join(parts) if parts else "no figures"

    def why(self) -> str:
        """The reasons under one heading: the generator's, or only the host's contention."""
        only_host = all(r.startswith(_CONTENDED) for r in self.reasons)
        return ("" if only_host else "load generator saturated: ") + "; ".join(self.reasons)

    @property
    def late_only(self) -> bool:
        """Saturated only in ways that inflate latency (a late pacer, a contended host): the planned load
        still arrived and the host had cycles, so a verdict that is not a latency FAIL stands."""
        return self.saturated and all(r.startswith(_INFLATE_ONLY) for r in self.reasons)

    def to_check(self, scope: str = "all", *, downgraded: bool = True) -> Check:
        """The `generator/health` check: PASS, or INCONCLUSIVE naming the saturation.

        A late pacer inflates measured latency, never deflates it: when the
        planned rate still arrived and no latency verdict was downgraded
        (`downgraded=False`), the stage's verdicts stand and the check PASSes
        with the warning in its detail. A missed rate, a saturated host, or a
        latency FAIL that the lateness may have caused make it INCONCLUSIVE.
        """
        if self.late_only and not downgraded:
            verdict = Verdict.PASS
            detail = ("pacer late or host contended, but the planned load arrived and no latency verdict "
                      "rests on it (both only inflate measured latency): " + "; ".join(self.reasons))
        elif self.saturated:
            verdict, detail = Verdict.INCONCLUSIVE, self.why()
        else:
            verdict, detail = Verdict.PASS, "load generator kept its schedule: " + self.summary()
        return Check(
            name="generator/health", verdict=verdict, value=self.lateness_p95_ms, objective=self.lateness_limit_ms,
            op="lte", unit="ms", samples=self.samples, scope=scope, kind="generator", detail=detail,
            extra={"paced_samples": self.paced, "lateness_p50_ms": self.lateness_p50_ms,
                   "lateness_p95_ms": self.lateness_p95_ms, "lateness_max_ms": self.lateness_max_ms,
                   "achieved_rps": self.achieved_rps, "target_rps": self.target_rps,
                   "cpu_percent": self.cpu_percent, "cpu_pressure": self.cpu_pressure, "saturated": self.saturated, "reasons": list(self.reasons),
                   "summary": self.summary()},
        )  # fmt: skip


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def generator_health(
    samples: pd.DataFrame,
    *,
    target_rps: float | None = None,
    cpu_percent: Sequence[float] | None = None,
    window: tuple[float, float] | None = None,
    config: GeneratorConfig | None = None,
    cpu_pressure: float | None = None,
) -> GeneratorHealth:
    """Measure the generator over `samples` (optionally only requests started inside `window`).

    `target_rps` is the schedule's rate (None: unknown, not judged);
    `cpu_percent` host CPU readings (0-100 per the whole host) taken during the window;
    `cpu_pressure` the share of the window (%) some runnable task waited for a CPU (`HostCPU.pressure`).
    """
    cfg = config or GeneratorConfig()
    frame = samples
    if "ts" not in frame.columns:  # nothing to time: a frame built by hand
        return GeneratorHealth(len(frame), 0, None, None, None, None, None, target_rps, None, (),
                               ("lateness not measurable (no start times)",))
    if window is not None and len(frame):
        frame = frame[(frame["ts"] >= window[0]) & (frame["ts"] < window[1])]
    n = len(frame)
    reasons: list[str] = []
    notes: list[str] = []
    p50 = p95 = worst = limit = None
    paced = 0
    if n and "intended_ts" in frame:
        ts = frame["ts"].to_numpy(dtype=float)
        intended = frame["intended_ts"].to_numpy(dtype=float)
        has = np.isfinite(intended) & (intended > 0)
        paced = int(has.sum())
        if paced:
            # one array of n floats at a time (10 M samples: 80 MB each), worked on in place
            late = ts - intended if paced == n else ts[has] - intended[has]
            del has
            np.maximum(late, 0.0, out=late)
            late *= 1000.0
            p50, p95, worst = (float(v) for v in np.percentile(late, [50, 95, 100], overwrite_input=True))
            del late
            lat = frame["latency_ms"].to_numpy(dtype=float) if "latency_ms" in frame else np.array([])
            finite = np.isfinite(lat)
            lat = np.array(lat) if finite.all() else lat[finite]  # a copy of its own to partition in place
            del finite
            lat_p95 = float(np.percentile(lat, 95, overwrite_input=True)) if len(lat) else 0.0
            del lat
            limit = max(cfg.max_lateness_ms, cfg.max_lateness_relative * lat_p95)
            idle_host = cpu_percent is not None and len(cpu_percent) > 0 and \
                float(np.mean(np.asarray(cpu_percent, dtype=float))) < cfg.max_cpu_percent and \
                (cpu_pressure is None or cpu_pressure < cfg.max_cpu_pressure)
            if p95 > limit and idle_host:
                # the host had CPU to spare: Locust's users were held by slow responses, so the
                # lateness is the platform's latency showing, not the generator starving
                notes.append(f"pacer lateness p95 {p95:.0f} ms with the host's CPU to spare: users held by slow "
                             "responses (the platform's latency), not a starved generator")
            elif p95 > limit:
                reasons.append(f"pacer lateness p95 {p95:.0f} ms > {limit:.0f} ms allowed "
                               f"(max {worst:.0f} ms): requests started late, latency includes the generator's queueing")
    if paced == 0:
        notes.append("lateness not measurable (no intended start times)")
    achieved = None
    if n >= 2:
        span = (window[1] - window[0]) if window is not None else float(frame["ts"].max() - frame["ts"].min())
        achieved = _finite(n / span) if span > 0 else None
    if target_rps and achieved is not None and achieved < cfg.min_rate_ratio * target_rps:
        reasons.append(f"achieved {achieved:.1f} req/s < {cfg.min_rate_ratio:.0%} of the {target_rps:g} req/s targeted")
    cpu = None
    if cpu_percent is not None and len(cpu_percent):
        cpu = float(np.mean(np.asarray(cpu_percent, dtype=float)))
        if cpu >= cfg.max_cpu_percent:
            reasons.append(f"host CPU {cpu:.0f} % ≥ {cfg.max_cpu_percent:.0f} %")
    if cpu_pressure is not None and cpu_pressure >= cfg.max_cpu_pressure:
        reasons.append(f"{_CONTENDED} a runnable task waited for a CPU {cpu_pressure:.0f} % of the time "
                       f"(≥ {cfg.max_cpu_pressure:.0f} %): latency includes queueing for the host's CPUs")
    return GeneratorHealth(n, paced, p50, p95, worst, limit, achieved, target_rps, cpu, tuple(reasons), tuple(notes),
                           cpu_pressure)


def is_latency_check(check: Check) -> bool:
    """A verdict over measured latency: what a late generator or a contended host inflates."""
    query = str(check.extra.get("query", ""))
    return check.unit == "ms" or any(col in query for col in LATENCY_COLUMNS)


def downgrade_if_saturated(checks: Sequence[Check], health: GeneratorHealth) -> list[Check]:
    """Absolute latency FAILs become INCONCLUSIVE when the generator was saturated.

    Only absolute checks (kind `slo`) over a latency column; comparisons and
    everything else are returned unchanged.
    """
    if not health.saturated:
        return list(checks)
    out = []
    why = health.why()
    for c in checks:
        if c.verdict is Verdict.FAIL and c.kind == "slo" and is_latency_check(c):
            extra: dict[str, Any] = {**c.extra, "verdict_before_generator_check": c.verdict.value}
            c = replace(c, verdict=Verdict.INCONCLUSIVE, detail=f"{why} (would FAIL: {c.detail})".strip(), extra=extra)
        out.append(c)
    return out
