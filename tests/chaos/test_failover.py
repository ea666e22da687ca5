"""Failover measurement on synthetic sample frames: the rule's edges, pinned."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pathlib import Path

import pytest
from tests.chaos.synthetic import RULE, T0, fault, frame

from harness._verdicts import Verdict
from harness.slo import SLO, load_slos
from harness.chaos._experiment import HealthyRule
from harness.chaos._failover import (
    failover_checks,
    first_sustained_healthy,
    measure_fault,
    measure_faults,
    window_stats,
)

FAILOVER_SLO: SLO = next(s for s in load_slos(Path(__file__).parents[2] / "slos") if s.name == "failover")


def test_windows_are_aligned_on_the_start_and_empty_ones_are_kept() -> None:
    samples = frame(10, bad=lambda t: 2 <= t < 3).query("ts < @T0 + 4 or ts >= @T0 + 5")
    stats = window_stats(samples, T0, T0 + 6)
    assert list(stats["requests"]) == [20, 20, 20, 20, 0, 20]
    assert stats["error_ratio"].iloc[2] == 1.0
    assert stats["error_ratio"].iloc[0] == 0.0


def test_failover_is_the_start_of_the_first_five_healthy_windows() -> None:
    samples = frame(40, bad=lambda t: 10 <= t < 17)
    assert first_sustained_healthy(samples, T0 + 10, T0 + 40, RULE) == 7.0


def test_a_four_second_healthy_blip_does_not_count() -> None:
    samples = frame(40, bad=lambda t: 10 <= t < 13 or 17 <= t < 20)
    # healthy 13..17 is only 4 windows; the sustained run starts at 20 s
    assert first_sustained_healthy(samples, T0 + 10, T0 + 40, RULE) == 10.0


def test_one_error_in_a_window_of_twenty_proves_nothing_but_a_quarter_failing_does() -> None:
    one = frame(30, bad=lambda t: abs(t - 12.5) < 0.01)
    assert first_sustained_healthy(one, T0 + 10, T0 + 30, RULE) == 0.0
    quarter = frame(30, bad=lambda t: 12.0 <= t < 13.0 and round(t * 20) % 4 == 0)
    assert first_sustained_healthy(quarter, T0 + 10, T0 + 30, RULE) == 3.0


def test_the_one_slow_request_that_is_the_p95_of_a_window_proves_nothing() -> None:
    one_slow = frame(30, slow=lambda t: abs(t - 12.5) < 0.01)
    assert first_sustained_healthy(one_slow, T0 + 10, T0 + 30, RULE) == 0.0


def test_a_recovery_window_too_thin_to_hold_a_run_is_inconclusive_not_fail() -> None:
    samples = pd.concat([frame(20, bad=lambda t: t >= 10), frame(20, rate=2).assign(ts=lambda f: f["ts"] + 20,
                                                                                   intended_ts=lambda f: f["ts"])])
    measured = measure_fault(samples, fault(10, 20), RULE, run_end=T0 + 40)
    assert measured.recovery_s is None and measured.after_requests == 40
    [failover, recovery] = failover_checks([measured], FAILOVER_SLO)
    assert failover.verdict is Verdict.FAIL
    assert recovery.verdict is Verdict.INCONCLUSIVE and "not observable" in recovery.detail


def test_a_generator_starved_before_the_fault_turns_a_missed_failover_into_inconclusive() -> None:
    samples = frame(60, bad=lambda t: 10 <= t < 50)
    samples["ts"] = samples["ts"] + 0.5  # every request 500 ms late, the steady state included
    measured = measure_fault(samples, fault(10, 50), RULE, run_end=T0 + 60)
    assert measured.generator.startswith("pacer lateness")
    checks = failover_checks([measured], FAILOVER_SLO)
    assert checks[0].verdict is Verdict.INCONCLUSIVE and checks[0].detail.startswith("load generator saturated")


def test_lateness_that_starts_with_the_fault_is_the_platforms_doing_and_the_miss_stands() -> None:
    # requests hanging on a fault hold Locust's users: the pacer falls behind only during it
    samples = frame(60, bad=lambda t: 10 <= t < 50)
    samples["ts"] = samples["ts"] + np.where(samples["ts"] >= T0 + 10, 0.5, 0.0)
    measured = measure_fault(samples, fault(10, 50), RULE, run_end=T0 + 60)
    assert measured.generator == ""
    assert failover_checks([measured], FAILOVER_SLO)[0].verdict is Verdict.FAIL


def test_slow_windows_are_not_healthy_even_without_errors() -> None:
    samples = frame(40, slow=lambda t: 10 <= t < 22)
    assert first_sustained_healthy(samples, T0 + 10, T0 + 40, RULE) == 12.0


def test_windows_with_too_few_requests_are_not_healthy() -> None:
    samples = frame(30, rate=4)
    assert first_sustained_healthy(samples, T0, T0 + 30, RULE) is None
    assert first_sustained_healthy(samples, T0, T0 + 30, HealthyRule(min_requests=4)) == 0.0


def test_a_run_cut_off_by_the_end_of_the_fault_does_not_count() -> None:
    samples = frame(40, bad=lambda t: 10 <= t < 16)
    # the fault ends at 20 s: healthy 16..20 is 4 windows inside it
    assert first_sustained_healthy(samples, T0 + 10, T0 + 20, RULE) is None


def test_never_recovered_gives_no_value_and_a_failing_verdict() -> None:
    samples = frame(40, bad=lambda t: t >= 10)
    measured = measure_fault(samples, fault(10, 30), RULE, run_end=T0 + 40)
    assert measured.failover_s is None and measured.recovery_s is None
    checks = failover_checks([measured], FAILOVER_SLO)
    assert [c.verdict for c in checks] == [Verdict.FAIL, Verdict.FAIL]
    assert checks[0].value is None and "never failed over" in checks[0].detail


def test_failover_within_the_objective_passes_and_beyond_it_fails() -> None:
    samples = frame(60, bad=lambda t: 10 <= t < 18)
    measured = measure_fault(samples, fault(10, 50, ("failover",)), RULE, run_end=T0 + 60)
    assert measured.failover_s == 8.0
    [check] = failover_checks([measured], FAILOVER_SLO)
    assert (check.verdict, check.value, check.objective, check.op) == (Verdict.PASS, 8.0, 30.0, "lt")
    slow = measure_fault(frame(60, bad=lambda t: 10 <= t < 42), fault(10, 50, ("failover",)), RULE, run_end=T0 + 60)
    assert slow.failover_s == 32.0
    assert failover_checks([slow], FAILOVER_SLO)[0].verdict is Verdict.FAIL


def test_first_error_errors_and_ratio_cover_only_the_fault_window() -> None:
    samples = frame(40, bad=lambda t: 12 <= t < 14 or t < 2)
    measured = measure_fault(samples, fault(10, 20), RULE, run_end=T0 + 40)
    assert measured.first_error_s == pytest.approx(2.0)
    assert measured.requests == 200 and measured.failed == 40
    assert measured.error_ratio == pytest.approx(0.2)


def test_a_fault_without_errors_has_no_first_error_and_fails_over_at_once() -> None:
    measured = measure_fault(frame(40), fault(10, 20), RULE, run_end=T0 + 40)
    assert measured.first_error_s is None
    assert measured.failover_s == 0.0 and measured.recovery_s == 0.0


def test_recovery_is_measured_from_the_removal_of_the_fault() -> None:
    samples = frame(60, bad=lambda t: 10 <= t < 33)
    measured = measure_fault(samples, fault(10, 30), RULE, run_end=T0 + 60)
    assert measured.failover_s is None
    assert measured.recovery_s == 3.0


def test_traffic_returning_to_the_primary_region_is_detected() -> None:
    samples = frame(60, region=lambda t: "backup" if 10 <= t < 34 else "primary")
    [measured] = measure_faults(samples, [fault(10, 30)], RULE, run_end=T0 + 60)
    assert measured.primary_region == "primary"
    assert measured.primary_returned is True and measured.primary_return_s == 4.0


def test_traffic_stuck_on_the_backup_region_is_reported_as_not_returned() -> None:
    samples = frame(60, region=lambda t: "backup" if t >= 10 else "primary")
    [measured] = measure_faults(samples, [fault(10, 30)], RULE, run_end=T0 + 60)
    assert measured.primary_returned is False and measured.primary_return_s is None


def test_only_the_figures_an_action_asks_for_are_judged() -> None:
    measured = measure_fault(frame(40), fault(10, 20, ()), RULE, run_end=T0 + 40)
    assert failover_checks([measured], FAILOVER_SLO) == []

