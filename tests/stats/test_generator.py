"""A starved load generator turns absolute latency FAILs into INCONCLUSIVE, and says so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from harness._verdicts import Verdict
from harness.canary._judge import judge_samples
from harness.engine._host import cpu_pressure_total_us
from harness.slo import evaluate, load_slos
from harness.stats import generator_health

SLOS = load_slos(Path(__file__).resolve().parents[2] / "slos" / "latency.yaml")


def _samples(rng: np.random.Generator, n: int, latency_ms: float, lateness_ms: float, revision: str = "canary",
             rps: float = 100.0) -> pd.DataFrame:
    intended = 1_000.0 + np.arange(n) / rps
    late = rng.exponential(lateness_ms, n) / 1000.0 if lateness_ms else np.zeros(n)
    latency = rng.lognormal(np.log(latency_ms), 0.3, n)
    return pd.DataFrame({"ts": intended + late, "intended_ts": intended, "name": "POST /v1/route", "revision": revision,
                         "ok": True, "latency_ms": latency, "co_latency_ms": latency + late * 1000.0})


def test_a_saturated_generator_turns_an_absolute_latency_fail_into_inconclusive_naming_it():
    rng = np.random.default_rng(1)
    starved = _samples(rng, 2000, 300.0, lateness_ms=400.0)
    [check, health] = evaluate(SLOS, starved, health_check=True)
    assert check.name == "latency-p95" and check.verdict is Verdict.INCONCLUSIVE
    assert check.detail.startswith("load generator saturated: pacer lateness")
    assert check.extra["verdict_before_generator_check"] == "fail"
    assert (health.name, health.verdict, health.kind) == ("generator/health", Verdict.INCONCLUSIVE, "generator")
    assert health.value is not None and health.value > 100


def test_a_generator_on_schedule_leaves_the_fail_standing_and_passes_its_own_check():
    rng = np.random.default_rng(2)
    [check, health] = evaluate(SLOS, _samples(rng, 2000, 300.0, lateness_ms=0.5), health_check=True)
    assert check.verdict is Verdict.FAIL
    assert health.verdict is Verdict.PASS and "kept its schedule" in health.detail


def test_the_health_check_is_only_added_when_asked_but_the_downgrade_always_applies():
    rng = np.random.default_rng(3)
    checks = evaluate(SLOS, _samples(rng, 2000, 300.0, lateness_ms=400.0))
    assert [c.name for c in checks] == ["latency-p95"] and checks[0].verdict is Verdict.INCONCLUSIVE


def test_canary_vs_baseline_comparisons_still_count_under_saturation():
    rng = np.random.default_rng(4)
    frame = pd.concat([_samples(rng, 9000, 40.0, 400.0, "baseline"), _samples(rng, 1000, 80.0, 400.0, "canary")])
    checks = {c.name: c for c in judge_samples(frame)}
    assert checks["compare/latency"].verdict is Verdict.FAIL


def test_missing_the_target_rate_or_a_busy_host_is_saturation():
    rng = np.random.default_rng(5)
    frame = _samples(rng, 1000, 20.0, lateness_ms=0.5, rps=100.0)
    assert not generator_health(frame, target_rps=100.0).saturated
    slow = generator_health(frame, target_rps=200.0)
    assert slow.saturated and "of the 200 req/s targeted" in slow.reasons[0]
    busy = generator_health(frame, cpu_percent=[95.0, 97.0, 99.0])
    assert busy.saturated and "host CPU" in busy.reasons[0]


def test_samples_without_intended_starts_are_not_judged_late():
    frame = pd.DataFrame({"ts": [1.0, 2.0, 3.0], "intended_ts": [np.nan] * 3, "latency_ms": [5.0] * 3})
    health = generator_health(frame)
    assert not health.saturated and health.lateness_p95_ms is None
    assert "not measurable" in health.summary()


def test_a_late_pacer_that_still_delivered_the_load_does_not_hold_back_a_passing_stage():
    # lateness inflates measured latency, never deflates it: a latency PASS under a late pacer
    # stands, and the health check passes with the warning instead of blocking promotion
    rng = np.random.default_rng(7)
    late = _samples(rng, 2000, 10.0, lateness_ms=60.0)
    [check, health] = evaluate(SLOS, late, health_check=True, target_rps=100.0)
    assert check.verdict is Verdict.PASS
    assert health.verdict is Verdict.PASS and health.detail.startswith("pacer late")
    assert health.extra["saturated"] is True
    # the same lateness beside a missed rate is saturation that blocks
    [_, starved] = evaluate(SLOS, late, health_check=True, target_rps=300.0)
    assert starved.verdict is Verdict.INCONCLUSIVE


def test_a_contended_host_turns_an_absolute_latency_fail_into_inconclusive_naming_the_host():
    # the generator kept its schedule, but tasks queued for a CPU 45 % of the time (PSI): the latency
    # measured on this host is not the revision's to answer for
    rng = np.random.default_rng(8)
    frame = _samples(rng, 2000, 300.0, lateness_ms=0.5)
    [check, health] = evaluate(SLOS, frame, health_check=True, target_rps=100.0, cpu_pressure=45.0)
    assert check.verdict is Verdict.INCONCLUSIVE and check.detail.startswith("host CPU contended")
    assert check.extra["verdict_before_generator_check"] == "fail"
    assert health.verdict is Verdict.INCONCLUSIVE and health.extra["cpu_pressure"] == 45.0
    # the same samples on an uncontended host: the FAIL stands
    [standing, _] = evaluate(SLOS, frame, health_check=True, target_rps=100.0, cpu_pressure=5.0)
    assert standing.verdict is Verdict.FAIL


def test_contention_alone_never_holds_back_a_passing_stage():
    rng = np.random.default_rng(9)
    frame = _samples(rng, 2000, 10.0, lateness_ms=0.5)
    [check, health] = evaluate(SLOS, frame, health_check=True, target_rps=100.0, cpu_pressure=60.0)
    assert check.verdict is Verdict.PASS
    assert health.verdict is Verdict.PASS and "host CPU contended" in health.detail


def test_cpu_pressure_is_read_from_the_kernels_psi_file(tmp_path: Path) -> None:
    psi = tmp_path / "cpu"
    psi.write_text("some avg10=54.34 avg60=46.15 avg300=34.79 total=297260035\n"
                   "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
    assert cpu_pressure_total_us(psi) == 297260035
    assert cpu_pressure_total_us(tmp_path / "absent") is None
    psi.write_text("garbage\n")
    assert cpu_pressure_total_us(psi) is None
