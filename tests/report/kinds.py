"""Every report kind built from the report model's own dataclasses, then rendered from disk.

Passing rollout, rollout failing at 10 % (cost and latency), inconclusive
rollout, game day pass and game day fail. Series have the shapes the real
producers write (per-second buckets per revision, a region outage, a late
start), so the charts are exercised on what they will meet.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from harness._verdicts import Check, Verdict
from harness.canary._cost import load_prices
from harness.report import Distribution, RunResult, Series, StageResult, Window, render_run, save_run
from harness.report._series import cost_series
from harness.report._gameday import GameDayResult, render_gameday, save_gameday

T0 = 1_800_000_000.0
CONFIG = {"stages": "10,50,100", "stage_duration_s": 20.0, "warmup_s": 5.0, "rps": 100.0, "users": 10,
          "locustfile": "scenarios/xynergy_platform.py", "slo_dir": "slos", "out": "reports"}


def _wave(n: int, base: float, amp: float, k: float = 0.4) -> list[float | None]:
    return [base + amp * math.sin(i * k) for i in range(n)]


def _stage_series(seconds: int, canary_ms: float, canary_err: float) -> list[Series]:
    t = [float(i) for i in range(seconds)]
    out = []
    for rev, ms, err, rps in (("baseline", 40.0, 0.002, 90.0), ("canary", canary_ms, canary_err, 10.0)):
        for q, f in (("p50", 1.0), ("p95", 1.8), ("p99", 2.6)):
            out.append(Series(f"{q} {rev}", "latency", t, _wave(seconds, ms * f, 3.0), "ms"))
        out.append(Series(f"errors {rev}", "errors", t, _wave(seconds, err, err / 3), "ratio"))
        out.append(Series(f"rps {rev}", "throughput", t, _wave(seconds, rps, 2.0), "req/s"))
    for name in ("edge", "ai-routing-engine", "ai-routing-engine@canary", "security-governance", "internal-ai.primary",
                 "internal-ai.backup", "system-runtime", "redis", "toxiproxy"):
        out.append(Series(name, "rss", t, _wave(seconds, 80.0 + len(name), 1.0), "MiB"))
    return out


def _endpoints(canary_ms: float, canary_fail: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for name, method in (("/v1/route", "POST"), ("/v1/governance/policies", "GET"), ("/v1/runtime/status", "GET")):
        for rev in ("baseline", "canary"):
            split = name == "/v1/route"
            if rev == "canary" and not split:
                continue
            slow = rev == "canary"
            rows.append({"name": name, "method": method, "revision": rev, "requests": 180 if slow else 1620,
                         "failures": canary_fail if slow else 2, "p50_ms": canary_ms if slow else 40.0,
                         "p95_ms": canary_ms * 1.8 if slow else 72.0, "p99_ms": canary_ms * 2.6 if slow else 104.0,
                         "errors": {"503 http": canary_fail} if slow and canary_fail else ({"0 timeout": 2} if not slow else {})})
    return rows


def _distributions(canary_ms: float) -> list[Distribution]:
    edges = [10.0 * 1.08**i for i in range(41)]
    out = []
    for label, median, n in (("baseline", 40.0, 1620), ("canary", canary_ms, 180)):
        counts = [round(n * math.exp(-((math.log(e / median)) ** 2) / 0.08) / 7) for e in edges[:-1]]
        quantiles = [median * math.exp(0.35 * math.sqrt(2) * _erfinv(2 * k / 100 - 1)) for k in range(101)]
        out.append(Distribution(label, n, quantiles, edges, counts))
    return out


def _erfinv(y: float) -> float:
    y = min(max(y, -0.999), 0.999)
    a = 0.147
    ln = math.log(1 - y * y)
    first = 2 / (math.pi * a) + ln / 2
    return math.copysign(math.sqrt(math.sqrt(first**2 - ln / a) - first), y)


def _checks(weight: int, *, canary_ms: float, cost: float, verdicts: dict[str, Verdict]) -> list[Check]:
    v = lambda name: verdicts.get(name, Verdict.PASS)  # noqa: E731
    shift = canary_ms - 40.0
    cost_extra = {
        "baseline": {"requests": 1620, "model_calls": {"small": 900, "medium": 120, "large": 1}, "cache_hit_ratio": 0.747,
                     "cost_per_million": 412.0, "currency": "USD"},
        "canary": {"requests": 180, "model_calls": {"small": 80, "medium": 20, "large": 17}, "cache_hit_ratio": 0.694,
                   "cost_per_million": 412.0 * (1 + cost), "currency": "USD"},
        "p_value": 0.001,
    }
    return [
        Check("latency-p95", v("latency-p95"), 1.8 * canary_ms, 100.0, "lt", "ms", 180, "revision=canary", "slo",
              "p95 of canary", interval=(1.7 * canary_ms, 1.9 * canary_ms), confidence=0.95),
        Check("error-ratio", v("error-ratio"), 0.004, 0.01, "lt", "ratio", 180, "revision=canary", "slo",
              "error ratio of canary", interval=(0.001, 0.009), confidence=0.95),
        Check("compare/latency", v("compare/latency"), shift, 5.0, "lt", "ms", 180, "canary-vs-baseline", "comparison",
              f"median shift {shift:+.1f} ms", interval=(shift - 2, shift + 2), confidence=0.95,
              extra={"baseline_median_ms": 40.0, "canary_median_ms": canary_ms, "baseline_samples": 1620,
                     "canary_samples": 180, "effect_relative": shift / 40.0, "p_value": 0.01, "test": "mann-whitney-u"}),
        Check("compare/errors", v("compare/errors"), 0.001, 0.005, "lt", "ratio", 180, "canary-vs-baseline", "comparison",
              "error ratio 0.20 % → 0.30 %", extra={"baseline_error_ratio": 0.002, "canary_error_ratio": 0.003,
                                                     "baseline_samples": 1620, "canary_samples": 180}),
        Check("cost/per-request", v("cost/per-request"), cost, 0.10, "lte", "ratio", 180, "canary-vs-baseline", "cost",
              f"cost per million requests ({cost:+.1%}, allowed +10%)", extra=cost_extra),
        Check("cold-start", Verdict.PASS, 1.4, 2.0, "lte", "s", 1, "instance=ai-routing-engine@canary", "coldstart", ""),
    ]


def _tier_samples(start: float, seconds: int, large_share: float) -> pd.DataFrame:
    """What the load plugin records per request: revision, tier chosen, cache outcome (deterministic)."""
    n = seconds * 20
    i = np.arange(n)
    revision = np.where(i % 10 == 0, "canary", "baseline")
    k = np.where(revision == "canary", i // 10, i - i // 10 - 1)  # the request's index within its revision
    large = (k * 0.618034) % 1.0 < np.where(revision == "canary", large_share, 0.01)
    return pd.DataFrame({"ts": start + i / 20, "revision": revision, "tier": np.where(large, "large", "small"),
                         "cache": np.where(k % 4 == 0, "miss", "hit")})


def _stage(weight: int, start: float, *, canary_ms: float = 41.0, cost: float = 0.02, canary_fail: int = 0,
           verdicts: dict[str, Verdict] | None = None) -> StageResult:
    seconds = 25
    s = StageResult(
        name=f"stage-{weight}", weight=weight, started_at=start, ended_at=start + seconds,
        checks=_checks(weight, canary_ms=canary_ms, cost=cost, verdicts=verdicts or {}),
        series=_stage_series(seconds, canary_ms, 0.003)
        + cost_series(_tier_samples(start, seconds, 0.01 + cost), start, load_prices(), t1=start + seconds),
        windows=[Window(0.0, 5.0, "warm-up", "warmup"), Window(22.0, 25.0, "not judged (load stopping)", "cooldown")],
        cold_starts=[{"instance": "ai-routing-engine@canary", "seconds": 1.4},
                     {"instance": "ai-routing-engine@canary", "seconds": 1.4},
                     {"instance": "ai-routing-engine@canary", "seconds": 2.6}],
        requests={"baseline": 1620 + 2 * 1620, "canary": 180},
        endpoints=_endpoints(canary_ms, canary_fail),
        distributions=_distributions(canary_ms),
        cost={"baseline": {"requests": 1620, "model_calls": {"small": 900, "large": 1}, "cache_hit_ratio": 0.747,
                           "cost_per_million": 412.0, "currency": "USD"},
              "canary": {"requests": 180, "model_calls": {"small": 80, "large": 17}, "cache_hit_ratio": 0.694,
                         "cost_per_million": 412.0 * (1 + cost), "currency": "USD"}},
    )
    s.judge()
    return s


def rollout(out: Path, kind: str) -> Path:
    """`passing`, `failing` (at 10 %: cost +108 % and latency) or `inconclusive` (at 50 %)."""
    stages: list[StageResult] = []
    start = T0 + 20.0  # the platform took 20 s to start: the run chart must still begin at the first stage
    for weight in (10, 50, 100):
        if kind == "failing" and weight == 10:
            st = _stage(weight, start, canary_ms=92.0, cost=1.08, canary_fail=4,
                        verdicts={"cost/per-request": Verdict.FAIL, "compare/latency": Verdict.FAIL})
        elif kind == "inconclusive" and weight == 50:
            st = _stage(weight, start, verdicts={"compare/latency": Verdict.INCONCLUSIVE})
            bad = st.checks[2]
            st.checks[2] = Check(bad.name, Verdict.INCONCLUSIVE, None, None, "lt", "ms", 60, bad.scope, "comparison",
                                 "too few samples: baseline 540, canary 60 (need 100 each)", samples_needed=100)
            st.judge()
        else:
            st = _stage(weight, start)
        stages.append(st)
        start = st.ended_at + 1.0
        if st.verdict is not Verdict.PASS:
            break
    run = RunResult(name="rollout", run_id=f"20261202-050000-rollout-{kind[:4]}", started_at=T0, ended_at=start,
                    stages=stages, config=dict(CONFIG, canary_defect="latency") if kind == "failing" else dict(CONFIG),
                    cold_starts=[{"instance": "edge | <b>x</b>", "seconds": 0.9}])
    run.judge()
    run.rolled_back = run.verdict is not Verdict.PASS
    bad = [c for s in stages for c in s.failed_checks()]
    run.reason = f"stage {stages[-1].weight} %: {bad[0].name} {bad[0].verdict.value}" if bad else "promoted to 100 %"
    run_dir = save_run(run, out / run.run_id)
    render_run(run_dir)
    return run_dir


def gameday(out: Path, passed: bool) -> Path:
    """A region outage 10 → 40 s: us-central1 serves 0 during it; europe-west1 starts only at 15 s."""
    seconds = 60
    t = [float(i) for i in range(seconds)]
    failover = 4.2 if passed else None
    primary = [0.0 if 10 <= i < 40 else 20.0 for i in range(seconds)]
    region = [Series("us-central1", "region", [x for x, y in zip(t, primary) if y > 0],
                     [y for y in primary if y > 0], "req/s"),
              Series("europe-west1", "region", t[15:40], [20.0] * 25, "req/s")]
    err = [0.5 if 10 <= i < (15 if passed else 40) else 0.0 for i in range(seconds)]
    series = [Series("p50 baseline", "latency", t, _wave(seconds, 40, 3), "ms"),
              Series("p95 baseline", "latency", t, _wave(seconds, 80, 5), "ms"),
              Series("p99 baseline", "latency", t, _wave(seconds, 120, 8), "ms"),
              Series("errors baseline", "errors", t, list(err), "ratio"),
              Series("rps baseline", "throughput", t, [20.0] * seconds, "req/s"), *region]
    verdict = Verdict.PASS if passed else Verdict.FAIL
    checks = [
        Check("failover/region-outage", verdict, failover, 30.0, "lt", "s", 1200, "edge->internal-ai.primary", "failover",
              "rule: 5 s with error ratio < 1 %" if passed else "never failed over: no run of 5 s with error ratio < 1 %"),
        Check("error-ratio", Verdict.PASS, 0.004, 0.01, "lt", "ratio", 1200, "steady-state before", "slo", ""),
        Check("latency-p95 <i>", Verdict.PASS, 80.0, 100.0, "lt", "ms", 1200, "steady-state after", "slo", "",
              interval=(75.0, 86.0), confidence=0.95),
    ]
    result = GameDayResult(
        name="Primary AI region outage", run_id=f"20261202-051000-gameday-{'pass' if passed else 'fail'}",
        started_at=T0, ended_at=T0 + seconds, checks=checks, series=series,
        windows=[Window(10.0, 40.0, "region-outage")],
        experiment={"title": "Primary AI region outage", "source": "chaos/region-outage.yaml", "tags": ["region"],
                    "description": "The primary region goes down for 30 s."},
        faults=[{"action": "region-outage", "target": "edge->internal-ai.primary", "kind": "down",
                 "injected_at": T0 + 10.0, "removed_at": T0 + 40.0, "first_error_s": 0.1, "failover_s": failover,
                 "recovery_s": 2.0 if passed else None, "requests": 600, "failed": 100 if passed else 600,
                 "error_ratio": 0.17 if passed else 1.0, "primary_region": "us-central1", "primary_returned": passed,
                 "primary_return_s": 1.0 if passed else None}],
        journal=[{"phase": "method", "action": "region-outage", "kind": "down", "target": "edge->internal-ai.primary",
                  "planned_start": 10.0, "planned_end": 40.0, "started_at": T0 + 10.0, "ended_at": T0 + 40.0,
                  "outcome": "succeeded", "error": "", "undo_error": ""}],
        rule="5 s with error ratio < 1 %", reason="failover in 4.2 s" if passed else "failover/region-outage never happened",
        config={"rps": 20.0, "duration_s": 60.0, "topology": "default", "attached": False, "canary_defect": "",
                "canary_weight": None},
        requests={"baseline": 1200},
        endpoints=_endpoints(40.0, 0),
    )
    result.judge()
    run_dir = save_gameday(result, out / result.run_id)
    render_gameday(run_dir)
    return run_dir


FAILING_ID = "20261202-050000-rollout-fail"
GAMEDAY_FAIL_ID = "20261202-051000-gameday-fail"


def build_all(out: Path) -> dict[str, Path]:
    """Every kind, rendered; name → run directory (the failing ones compared with the passing ones)."""
    from harness.report._compare import record_comparison

    built = {
        "passing": rollout(out, "passing"),
        "failing": rollout(out, "failing"),
        "inconclusive": rollout(out, "inconclusive"),
        "gameday-pass": gameday(out, True),
        "gameday-fail": gameday(out, False),
    }
    for after, before in (("failing", "passing"), ("gameday-fail", "gameday-pass")):
        record_comparison(built[after], built[before])
    render_run(built["failing"])
    render_gameday(built["gameday-fail"])
    return built


if __name__ == "__main__":  # render them for a look: python -m tests.report.kinds /tmp/kinds
    import sys

    for name, path in build_all(Path(sys.argv[1])).items():
        print(name, path)
