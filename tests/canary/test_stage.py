from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness._verdicts import Check, Verdict
from harness.canary._cost import PriceTable, Usage
from harness.canary._stage import StageInputs, judge_stage
from harness.slo import load_slos

SLOS = load_slos(Path(__file__).resolve().parents[2] / "slos")
PRICES = PriceTable(currency="USD", model_call={"small": 0.001})
T0 = 1_800_000_000.0
CANARY = "ai-routing-engine@canary"


def _samples(rng: np.random.Generator, weight: int, canary_median: float = 20.0, n: int = 3000) -> pd.DataFrame:
    revision = np.where(rng.random(n) < weight / 100, "canary", "baseline")
    return pd.DataFrame({
        "ts": T0 + np.sort(rng.random(n)) * 30, "name": "POST /v1/route", "method": "POST", "status": 200,
        "ok": True, "error_kind": "", "revision": revision,
        "latency_ms": rng.lognormal(np.log(np.where(revision == "canary", canary_median, 20.0)), 0.3),
        "co_latency_ms": 0.0, "bytes": 100, "region": "us-central1", "worker": "0",
    })  # fmt: skip


def _resources(growth_mib_per_s: float) -> pd.DataFrame:
    t = np.arange(30.0)
    return pd.DataFrame({
        "ts": T0 + np.concatenate([t, t]), "instance": [CANARY] * 30 + ["edge"] * 30, "pid": [1] * 30 + [2] * 30,
        "rss_bytes": np.concatenate([80e6 + t * growth_mib_per_s * 2**20, np.full(30, 60e6)]),
        "cpu_percent": 5.0,
    })  # fmt: skip


def _inputs(samples: pd.DataFrame, weight: int, **kw) -> StageInputs:
    usage = {"baseline": Usage({"small": 500}, requests=1000), "canary": Usage({"small": 50}, requests=100)}
    base = dict(weight=weight, started_at=T0, judged_from=T0 + 5, ended_at=T0 + 30, samples=samples, usage=usage,
                resources=_resources(0.0), cold_starts=[{"instance": CANARY, "ready_s": 0.8}], canary_instance=CANARY,
                first_canary_stage=True)
    base.update(kw)
    return StageInputs(**base)


def test_a_healthy_stage_passes_slos_comparisons_cost_and_process_checks():
    stage = judge_stage(_inputs(_samples(np.random.default_rng(1), 30), 30), SLOS, prices=PRICES)
    kinds = {c.kind for c in stage.checks}
    assert {"slo", "comparison", "cost", "coldstart", "resource"} <= kinds
    assert stage.verdict is Verdict.PASS, [c.detail for c in stage.failed_checks()]
    assert {c.scope for c in stage.checks if c.name == "latency-p95"} == {"revision=canary", "all"}
    assert stage.windows[0].kind == "warmup" and stage.requests["canary"] > 100


def test_a_slow_cold_start_fails_only_the_first_canary_stage():
    slow = [{"instance": CANARY, "ready_s": 5.2}]
    first = judge_stage(_inputs(_samples(np.random.default_rng(2), 30), 30, cold_starts=slow), SLOS, prices=PRICES)
    assert [c.name for c in first.failed_checks()] == ["cold-start"]
    later = judge_stage(_inputs(_samples(np.random.default_rng(2), 30), 30, cold_starts=slow, first_canary_stage=False),
                        SLOS, prices=PRICES)
    assert later.verdict is Verdict.PASS


def test_a_start_slow_only_from_waiting_for_cpu_is_inconclusive_but_a_sleeping_one_still_fails():
    """A healthy canary that waited for CPU at start is not rolled back; one that sleeps (slow-start) still is."""

    def cold_start(cpu_wait_s: float) -> Check:
        starts = [{"instance": CANARY, "ready_s": 4.5, "cpu_wait_s": cpu_wait_s}]
        stage = judge_stage(_inputs(_samples(np.random.default_rng(2), 30), 30, cold_starts=starts), SLOS, prices=PRICES)
        return next(c for c in stage.checks if c.name == "cold-start")

    starved = cold_start(3.0)  # 1.5 s of its own: within 2x the 2 s objective
    assert starved.verdict is Verdict.INCONCLUSIVE
    assert "waited 3.0 s" in starved.detail and starved.extra["verdict_before_cpu_wait"] == "fail"
    assert cold_start(0.2).verdict is Verdict.FAIL  # 4.3 s of its own: beyond 2x


def test_a_growing_canary_fails_the_memory_leak_check_by_its_slope():
    stage = judge_stage(_inputs(_samples(np.random.default_rng(3), 30), 30, resources=_resources(4.0)), SLOS,
                        prices=PRICES)
    leak = next(c for c in stage.checks if c.name == "memory-leak")
    assert leak.verdict is Verdict.FAIL
    assert leak.value == pytest.approx(4.0, rel=0.05) and leak.value > leak.objective


def test_a_full_stage_is_judged_on_absolute_slos_only_and_says_so():
    rng = np.random.default_rng(4)
    earlier = _samples(rng, 30)
    # twice the earlier baseline's latency, as a healthy canary carrying all the traffic measured
    stage = judge_stage(_inputs(_samples(rng, 100, canary_median=40.0), 100, reference=earlier), SLOS, prices=PRICES)
    assert not stage.checks_of("cost") and not stage.checks_of("comparison")
    assert stage.checks_of("slo") and all(c.scope != "all" for c in stage.checks_of("slo"))
    assert any("absolute SLOs only" in n for n in stage.notes)
    assert stage.verdict is not Verdict.FAIL
