"""Judge one canary stage: every check, the chart data, one `StageResult`.

Pure analysis over what the stage left behind (samples, `/metrics` usage,
resource samples, cold starts), so it can be tested without a platform.
Absolute SLOs are judged for the canary and for the whole stage; the judge
compares canary with baseline; the cost check prices both; measurement SLOs
(cold start, peak RSS) and a memory-leak check cover the canary process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from harness._verdicts import Check, Verdict
from harness.canary._cost import (
    CostConfig,
    PriceTable,
    Usage,
    estimate_cost,
    judge_cost,
)
from harness.canary._judge import JudgeConfig, judge_samples
from harness.report._model import StageResult, Window
from harness.report._series import endpoint_stats, latency_distributions, resource_series, sample_series
from harness.slo import SLO, compare, evaluate, judge_measurement
from harness.stats import settle_at_max_duration

__all__ = ["StageInputs", "StageExtras", "judge_stage", "judged_window", "measurement_slo"]


@dataclass
class StageExtras:
    """What an experiment hook adds to a stage: shaded windows, journal, its own checks."""

    windows: list[Window] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    complete: bool = True
    incomplete_reason: str = ""
    judge: Callable[[pd.DataFrame], list[Check]] | None = None
    """Checks that need the stage's judged samples (failover, the experiment's window
    checks). The hook returns before Locust has flushed its last rows, so it hands
    this over and `judge_stage` calls it with the judged window."""


@dataclass
class StageInputs:
    """Everything a finished stage left behind, in epoch seconds."""

    weight: int
    started_at: float
    """Start of the stage (warm-up included); chart time 0."""
    judged_from: float
    """End of the warm-up: only samples from here on are judged."""
    ended_at: float
    samples: pd.DataFrame
    usage: dict[str, Usage] = field(default_factory=dict)
    """`/metrics` usage delta per revision (`baseline`, `canary`)."""
    resources: pd.DataFrame | None = None
    cold_starts: list[dict[str, Any]] = field(default_factory=list)
    """`ColdStart.as_dict()` of every start so far."""
    canary_instance: str = "ai-routing-engine@canary"
    first_canary_stage: bool = False
    reference: pd.DataFrame | None = None
    """Judged samples of an earlier stage: the baseline of a partial stage short of its own (a 100 % stage
    compares nothing)."""
    extras: StageExtras | None = None
    judged_to: float | None = None
    """End of the judged window (None: everything after `judged_from`). Requests
    started after it — while Locust shuts down — are charted but not judged."""
    host_cpu_percent: float | None = None
    """The host's CPU busy share over the judged window (None: not measured): tells a
    starved load generator from one whose users were held by slow responses."""
    host_cpu_pressure: float | None = None
    """Percent of the judged window some runnable task waited for a CPU (PSI); None where the kernel has none."""


def judged_window(samples: pd.DataFrame, start: float, end: float | None) -> pd.DataFrame:
    """The samples whose request started inside [start, end)."""
    if samples.empty:
        return samples
    mask = samples["ts"] >= start
    if end is not None:
        mask &= samples["ts"] < end
    return samples[mask]


def measurement_slo(slos: Iterable[SLO], measurement: str) -> SLO | None:
    """The SLO judging a measured quantity (`cold_start_seconds`, `peak_rss_mib`, …)."""
    for slo in slos:
        if slo.indicator.source.type == "harness" and slo.indicator.source.spec.get("measurement") == measurement:
            return slo
    return None


def _slo_checks(slos: Sequence[SLO], judged: pd.DataFrame, inputs: StageInputs, canary_rev: str,
                min_samples: int, monitoring: Any = None, target_rps: float | None = None) -> list[Check]:
    """Samples-based SLOs for the canary and the whole stage; `cloud-monitoring` SLOs once.

    A `cloud-monitoring` SLO reads the platform's own series (grouped by revision
    in its file), not our samples, so filtering the samples by revision changes
    nothing but the API calls: it is read once, over the judged window, with the
    exporter's client and project (`monitoring`, a `MonitoringExporter`).
    """
    own = [s for s in slos if s.indicator.source.type != "cloud-monitoring"]
    remote = [s for s in slos if s.indicator.source.type == "cloud-monitoring"]
    checks: list[Check] = []
    canary = judged[judged["revision"] == canary_rev]
    cpu = None if inputs.host_cpu_percent is None else [inputs.host_cpu_percent]
    pressure = inputs.host_cpu_pressure
    mine = evaluate(own, canary, min_samples=min_samples, cpu_percent=cpu, cpu_pressure=pressure)
    if canary.empty:  # no canary sample at all: say whose samples are missing, not "all"
        mine = [_rescope(c, f"revision={canary_rev}") for c in mine]
    checks.extend(mine)
    if inputs.weight < 100:
        # the whole stage's traffic is where the load generator's own health is judged
        whole = evaluate(own, judged.assign(revision="all"), min_samples=min_samples, health_check=True,
                         target_rps=target_rps, cpu_percent=cpu, cpu_pressure=pressure)
        checks.extend(c if c.scope != "revision=all" else _rescope(c, "all") for c in whole)
    if remote:
        from harness.monitoring import monitoring_window

        end = inputs.judged_to if inputs.judged_to is not None else inputs.ended_at
        client, project = getattr(monitoring, "client", None), getattr(monitoring, "project", None)
        with monitoring_window(inputs.judged_from, min(end, inputs.ended_at), client=client, project=project):
            checks.extend(evaluate(remote, judged, min_samples=min_samples))
    return checks


def _rescope(check: Check, scope: str) -> Check:
    from dataclasses import replace

    return replace(check, scope=scope)


def _unless_cpu_starved(check: Check, start: dict[str, Any]) -> Check:
    """A start that failed only because it waited for a CPU is INCONCLUSIVE, not the revision's FAIL.

    The run-queue wait (`cpu_wait_s`) is time the host, not the revision,
    took. If the start without it would not have failed, a busy host cannot
    be told from a slow revision. A revision that sleeps at start-up (the
    `slow-start` defect) waits for no CPU while it sleeps, and still FAILs.
    """
    wait = start.get("cpu_wait_s")
    if check.verdict is not Verdict.FAIL or wait is None or check.value is None or check.objective is None:
        return check
    unstarved = max(0.0, check.value - float(wait))
    limit = float(check.extra.get("single_observation_limit", check.objective))
    if not compare(unstarved, check.op, limit):
        return check
    return replace(check, verdict=Verdict.INCONCLUSIVE,
                   detail=f"waited {wait:.1f} s of its {check.value:.1f} s start for a CPU (the host was busy): "
                          f"{unstarved:.1f} s without the wait would not fail (would FAIL: {check.detail})",
                   extra={**check.extra, "cpu_wait_s": wait, "verdict_before_cpu_wait": check.verdict.value})


def _process_checks(slos: Sequence[SLO], inputs: StageInputs, *, final: bool = True) -> list[Check]:
    checks: list[Check] = []
    cold = measurement_slo(slos, "cold_start_seconds")
    if cold is not None and inputs.first_canary_stage:
        starts = [c for c in inputs.cold_starts if c.get("instance") == inputs.canary_instance]
        if starts:  # the latest start: the canary's deploy onto the running platform
            value = float(starts[-1]["ready_s"])
            check = judge_measurement(cold, value, scope=f"instance={inputs.canary_instance}", kind="coldstart",
                                      detail="spawn → first 200 on /readyz, deployed onto the running platform")
            checks.append(_unless_cpu_starved(check, starts[-1]))
    res = inputs.resources
    if res is None or res.empty or "instance" not in res:
        return checks
    mine = res[(res["instance"] == inputs.canary_instance) & (res["ts"] >= inputs.started_at) & (res["ts"] <= inputs.ended_at)]
    rss = measurement_slo(slos, "peak_rss_mib")
    if rss is not None and len(mine):
        peak = float(mine["rss_bytes"].max()) / 2**20
        checks.append(judge_measurement(rss, peak, samples=len(mine), scope=f"instance={inputs.canary_instance}",
                                        kind="resource", detail="peak RSS during the stage"))
    growth = _leak_check(mine, inputs)
    if growth is not None and not final:
        # a slope from a few seconds of RSS is no evidence either way (a warming cache grows):
        # an interim look neither fails nor promotes on it
        growth = replace(growth, verdict=Verdict.INCONCLUSIVE,
                         detail=f"judged at the stage's last look only; so far: {growth.detail}")
    if growth is not None:
        checks.append(growth)
    return checks


def _leak_check(mine: pd.DataFrame, inputs: StageInputs, horizon_s: float = 3600.0) -> Check | None:
    """Memory growth of the canary (Theil-Sen slope, topology's estimator) against the budget.

    FAIL when over the budget, or when even the slope's lower 95 % bound would
    reach the 512 MiB budget within `horizon_s` (an hour of production traffic).
    """
    from harness.topology import MEMORY_BUDGET_BYTES, memory_growth

    if len(mine) < 5:
        return None
    found = [g for g in memory_growth(mine, warmup_s=min(5.0, inputs.judged_from - inputs.started_at))
             if g.instance == inputs.canary_instance]
    if not found:
        return None
    g = found[0]
    mib = 2**20
    allowed = max(1024.0, (MEMORY_BUDGET_BYTES - g.rss_last_bytes) / horizon_s) / mib
    low = g.slope_low_bytes_per_s / mib
    verdict = Verdict.FAIL if g.over_budget or low > allowed else Verdict.PASS
    to_budget = "" if g.seconds_to_budget is None else f"; at this rate the budget is reached in ~{g.seconds_to_budget:.0f} s"
    return Check(
        name="memory-leak", verdict=verdict, value=low, objective=allowed, op="lte", unit="MiB/s", samples=g.samples,
        scope=f"instance={inputs.canary_instance}", kind="resource",
        detail=(f"RSS slope {g.slope_bytes_per_s / mib:+.3f} MiB/s (lower 95 % bound {low:+.3f}); the bound may not "
                f"reach the 512 MiB budget within {horizon_s / 3600:g} h{to_budget}"),
        extra=g.as_dict(),
    )  # fmt: skip


def judge_stage(
    inputs: StageInputs,
    slos: Sequence[SLO],
    *,
    judge: JudgeConfig | None = None,
    prices: PriceTable | None = None,
    cost: CostConfig | None = None,
    min_samples: int = 100,
    monitoring: Any = None,
    final: bool = True,
    target_rps: float | None = None,
) -> StageResult:
    """Every check of one stage and its chart data, judged over the post-warm-up samples.

    The judges are anytime-valid, so the sequential loop may call this on the
    samples so far as often as it likes (`final=False`); at the stage's last
    look (`final=True`) undecided checks leaning the good way are settled
    (`harness.stats.settle_at_max_duration`). `monitoring` (a
    `harness.monitoring.MonitoringExporter`, or None) gives `cloud-monitoring`
    SLOs their client and project; `target_rps` lets the generator's health
    compare the achieved rate with the planned one.
    """
    cfg = judge or JudgeConfig()
    samples = inputs.samples
    judged = judged_window(samples, inputs.judged_from, inputs.judged_to)
    # Every expected check is produced, whatever is missing: the judges turn an empty
    # frame into INCONCLUSIVE checks with the reason, never into an absent one.
    checks = _slo_checks(slos, judged, inputs, cfg.canary_revision, min_samples, monitoring, target_rps)
    checks += judge_samples(judged, cfg, reference=inputs.reference, full_weight=inputs.weight >= 100)
    if not len(judged):
        checks.append(Check(name="samples", verdict=Verdict.INCONCLUSIVE, value=0.0, objective=float(min_samples),
                            op="gte", samples=0, scope="stage", kind="slo",
                            detail="no samples in the judged window: nothing to judge the stage on"))
    notes = []
    if inputs.weight >= 100:
        notes.append("no baseline runs beside the canary at 100 %: judged on absolute SLOs only; canary and "
                     "baseline were compared at the partial stages (an earlier stage's baseline would confound "
                     "time and load share with code)")
    cost_by_rev: dict[str, dict[str, Any]] = {}
    base = can = None
    if prices is not None and {cfg.baseline_revision, cfg.canary_revision} <= set(inputs.usage):
        base = estimate_cost(inputs.usage[cfg.baseline_revision], prices, cfg.baseline_revision)
        can = estimate_cost(inputs.usage[cfg.canary_revision], prices, cfg.canary_revision)
        cost_by_rev = {cfg.baseline_revision: base.to_dict(), cfg.canary_revision: can.to_dict()}
    if prices is not None and inputs.weight < 100:
        # per request from the samples (like with like); /metrics is the cross-check or the fallback
        checks += judge_cost(judged, prices, cost, baseline_revision=cfg.baseline_revision,
                             canary_revision=cfg.canary_revision, baseline_usage=base, canary_usage=can)
    checks += _process_checks(slos, inputs, final=final)
    extras = inputs.extras or StageExtras()
    checks += extras.checks
    if extras.judge is not None:
        checks += extras.judge(judged)
    if final:
        checks = settle_at_max_duration(checks)
    warmup = inputs.judged_from - inputs.started_at
    windows = ([Window(0.0, warmup, "warm-up", kind="warmup")] if warmup > 0 else []) + extras.windows
    if inputs.judged_to is not None and inputs.ended_at > inputs.judged_to:
        windows.append(Window(inputs.judged_to - inputs.started_at, inputs.ended_at - inputs.started_at,
                              "not judged (load stopping)", kind="cooldown"))
    series = sample_series(samples, inputs.started_at, t1=inputs.ended_at, latency_column=cfg.latency_column)
    if inputs.resources is not None:
        series += resource_series(inputs.resources, inputs.started_at, inputs.ended_at)
    stage = StageResult(
        name=f"stage-{inputs.weight}",
        weight=inputs.weight,
        started_at=inputs.started_at,
        ended_at=inputs.ended_at,
        complete=extras.complete,
        incomplete_reason=extras.incomplete_reason,
        checks=checks,
        series=series,
        windows=windows,
        distributions=latency_distributions(judged, latency_column=cfg.latency_column,
                                            revisions=[cfg.baseline_revision, cfg.canary_revision]),
        cold_starts=[{"instance": c.get("instance"), "seconds": c.get("ready_s")} for c in inputs.cold_starts],
        events=list(extras.events),
        requests={str(k): int(v) for k, v in judged["revision"].value_counts().items()} if len(judged) else {},
        cost=cost_by_rev,
        endpoints=endpoint_stats(judged, latency_column=cfg.latency_column),
        notes=notes,
    )
    stage.judge()
    if not len(judged) and stage.verdict is Verdict.PASS:  # belt and braces: zero judged samples never pass
        stage.verdict = Verdict.INCONCLUSIVE
    return stage
