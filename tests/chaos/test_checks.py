"""The experiment's own checks, judged over the windows of a game day."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tests.chaos.synthetic import T0, fault, frame

from harness._verdicts import Verdict
from harness.chaos._checks import evaluate_window_checks
from harness.chaos._experiment import WindowCheck
from harness.slo import load_slos

SLOS = {s.name: s for s in load_slos(Path(__file__).parents[2] / "slos")}


def test_a_window_check_sees_only_the_fault_window() -> None:
    samples = frame(40, rate=100, bad=lambda t: t < 10)  # errors only before the fault; enough to prove < 1 %
    checks = [
        WindowCheck("fault errors", "error-ratio", "lt", 0.01, window="fault"),
        WindowCheck("before errors", "error-ratio", "lt", 0.01, window="before"),
    ]
    during, before = evaluate_window_checks(samples, checks, [fault(10, 20)], run_start=T0, run_end=T0 + 40)
    assert during.verdict is Verdict.PASS and during.value == 0.0 and during.samples == 1000
    assert before.verdict is Verdict.FAIL and before.value == 1.0


def test_counting_successes_of_matching_requests_catches_a_single_bypass() -> None:
    samples = frame(30)
    samples["name"] = np.where(np.arange(len(samples)) % 2 == 0, "auth: no key", "/v1/route")
    samples["status"] = np.where(samples["name"] == "auth: no key", 401, 200)
    check = WindowCheck("no unauthenticated success", "successes", "lte", 0, requests="^auth:")
    [clean] = evaluate_window_checks(samples, [check], [fault(10, 20)], run_start=T0, run_end=T0 + 30)
    assert clean.verdict is Verdict.PASS and clean.value == 0 and clean.samples == 100
    samples.loc[samples.index[(samples["name"] == "auth: no key") & (samples["ts"] > T0 + 15)][:1], "status"] = 200
    [bypass] = evaluate_window_checks(samples, [check], [fault(10, 20)], run_start=T0, run_end=T0 + 30)
    assert bypass.verdict is Verdict.FAIL and bypass.value == 1


def test_a_check_with_no_matching_requests_is_inconclusive() -> None:
    check = WindowCheck("no unauthenticated success", "successes", "lte", 0, requests="^auth:")
    [result] = evaluate_window_checks(frame(30), [check], [fault(10, 20)], run_start=T0, run_end=T0 + 30)
    assert result.verdict is Verdict.INCONCLUSIVE


def test_a_named_slo_is_judged_on_the_fault_window_only() -> None:
    samples = frame(30, rate=100, bad=lambda t: t >= 20)  # everything fails after the fault is gone
    check = WindowCheck("errors during the outage", window="fault", slo="error-ratio")
    [result] = evaluate_window_checks(samples, [check], [fault(10, 20)], run_start=T0, run_end=T0 + 30, slos=SLOS)
    assert result.verdict is Verdict.PASS and result.samples == 1000
    assert result.scope.startswith("window=fault") and result.extra["slo"] == "error-ratio"


def test_the_security_slo_catches_one_unauthenticated_success_during_the_fault() -> None:
    samples = frame(30)
    security = samples.index % 4 == 0
    samples.loc[security, "name"] = "security: no key"
    check = WindowCheck("no unauthenticated success", window="fault", slo="security-failures")
    [clean] = evaluate_window_checks(samples, [check], [fault(10, 20)], run_start=T0, run_end=T0 + 30, slos=SLOS)
    assert clean.verdict is Verdict.PASS and clean.value == 0
    breach = security & (samples["ts"] > T0 + 15) & (samples["ts"] < T0 + 15.3)
    samples.loc[breach, "error_kind"] = "security"
    samples.loc[breach, "ok"] = False
    [caught] = evaluate_window_checks(samples, [check], [fault(10, 20)], run_start=T0, run_end=T0 + 30, slos=SLOS)
    assert caught.verdict is Verdict.FAIL and caught.value == int(breach.sum()) >= 1


def test_a_named_slo_with_no_matching_requests_is_inconclusive() -> None:
    check = WindowCheck("no unauthenticated success", window="fault", slo="security-failures")
    [result] = evaluate_window_checks(frame(30), [check], [fault(10, 20)], run_start=T0, run_end=T0 + 30, slos=SLOS)
    assert result.verdict is Verdict.INCONCLUSIVE and "no matching requests" in result.detail
