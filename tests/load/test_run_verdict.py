"""The plugin's run verdict: a saturated generator withholds a latency breach, never any other."""

from __future__ import annotations

from harness._verdicts import Check, Verdict
from harness.load._verdict import _with_generator_health


def _check(name: str, verdict: Verdict, unit: str = "", **extra: object) -> Check:
    return Check(name=name, verdict=verdict, value=1.0, objective=1.0, op="lt", unit=unit, extra=dict(extra))


STARVED = _check("generator/health", Verdict.INCONCLUSIVE)


def test_a_latency_breach_measured_by_a_starved_generator_is_inconclusive() -> None:
    verdict, warnings = _with_generator_health([_check("latency-p95", Verdict.FAIL, "ms"), STARVED])
    assert verdict is Verdict.INCONCLUSIVE and warnings


def test_a_breach_the_generator_cannot_cause_stands_beside_a_starved_generator() -> None:
    checks = [_check("latency-p95", Verdict.FAIL, "ms"), _check("security-failures", Verdict.FAIL), STARVED]
    assert _with_generator_health(checks)[0] is Verdict.FAIL
    # the query names the latency column even where the unit is not ms (a ratio of slow requests)
    slow_share = _check("slow-share", Verdict.FAIL, query="ratio(latency_ms > 100)")
    assert _with_generator_health([slow_share, STARVED])[0] is Verdict.INCONCLUSIVE


def test_a_healthy_generator_leaves_every_breach_standing() -> None:
    assert _with_generator_health([_check("latency-p95", Verdict.FAIL, "ms")])[0] is Verdict.FAIL


def test_a_run_judged_on_measurement_slos_only_still_counts_its_samples(tmp_path) -> None:
    from pathlib import Path

    from harness.load._verdict import judge_samples
    from harness.samples import SampleWriter
    from harness.slo import load_slos

    slos = [s for s in load_slos(Path(__file__).resolve().parents[2] / "slos") if s.name == "cold-start"]
    path = tmp_path / "s.arrow"
    with SampleWriter(path, flush_interval=3600) as writer:
        for i in range(40):
            writer.add((1.0 + i, 1.0 + i, "GET /", "GET", 200, True, "", 5.0, 5.0, 10, "baseline", "", "w0", "", ""))
    assert judge_samples(path, slos).samples == 40
