from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harness._verdicts import Verdict
from harness.canary._judge import (
    JudgeConfig,
    compare_errors,
    compare_latency,
    compare_latency_tail,
    hodges_lehmann,
    judge_samples,
)


def _lognormal(rng: np.random.Generator, n: int, median_ms: float, sigma: float = 0.4) -> np.ndarray:
    return rng.lognormal(np.log(median_ms), sigma, n)


def _frame(rng: np.random.Generator, n_base: int, n_canary: int, canary_median: float, canary_err: float) -> pd.DataFrame:
    rows = []
    for revision, n, median, err in (("baseline", n_base, 40.0, 0.002), ("canary", n_canary, canary_median, canary_err)):
        rows.append(
            pd.DataFrame(
                {
                    "name": "POST /v1/route",
                    "revision": revision,
                    "latency_ms": _lognormal(rng, n, median),
                    "ok": rng.random(n) >= err,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_identical_distributions_pass_every_comparison_once_there_is_enough_data():
    rng = np.random.default_rng(1)
    checks = judge_samples(_frame(rng, 20_000, 8_000, 40.0, 0.002))
    assert [c.verdict for c in checks] == [Verdict.PASS] * 3
    for c in checks:
        assert c.kind == "comparison" and c.interval is not None and c.confidence is not None
        assert c.objective is not None and c.interval[1] < c.objective  # equivalence: the whole interval below


def test_identical_distributions_on_a_few_hundred_requests_keep_collecting_never_fail():
    rng = np.random.default_rng(11)
    checks = judge_samples(_frame(rng, 2000, 200, 40.0, 0.002))
    assert Verdict.FAIL not in [c.verdict for c in checks]
    undecided = [c for c in checks if c.verdict is Verdict.INCONCLUSIVE]
    assert undecided and all("keep collecting" in c.detail for c in undecided)
    assert all(c.samples_needed is None or c.samples_needed > 200 for c in undecided)


def test_a_clearly_slower_and_failing_canary_fails_latency_tail_and_errors():
    rng = np.random.default_rng(2)
    checks = {c.name: c for c in judge_samples(_frame(rng, 3000, 800, 60.0, 0.05))}
    assert checks["compare/latency"].verdict is Verdict.FAIL
    assert checks["compare/latency"].value == pytest.approx(20.0, rel=0.25)
    latency = checks["compare/latency"]
    assert latency.interval is not None and latency.objective is not None and latency.interval[0] > latency.objective
    assert checks["compare/latency-p95"].verdict is Verdict.FAIL
    assert checks["compare/errors"].verdict is Verdict.FAIL
    assert checks["compare/errors"].value == pytest.approx(0.048, abs=0.02)


def test_a_one_percent_slower_canary_with_huge_samples_passes_as_equivalent():
    rng = np.random.default_rng(3)
    base = _lognormal(rng, 100_000, 40.0)
    canary = _lognormal(rng, 100_000, 40.4)
    check = compare_latency(base, canary)
    assert check.value > 0 and check.interval is not None
    assert check.verdict is Verdict.PASS  # slower, but provably by less than the minimum effect


def test_thin_data_never_passes_but_a_terrible_canary_fails_within_seconds():
    rng = np.random.default_rng(4)
    healthy = judge_samples(_frame(rng, 3000, 30, 40.0, 0.002))
    assert [c.verdict for c in healthy] == [Verdict.INCONCLUSIVE] * 3
    assert all("too few samples" in c.detail for c in healthy)
    terrible = {c.name: c for c in judge_samples(_frame(rng, 3000, 80, 200.0, 0.3))}  # 80 requests: ~8 s at 10 %
    assert terrible["compare/latency"].verdict is Verdict.FAIL
    assert terrible["compare/errors"].verdict is Verdict.FAIL


def test_a_large_regression_that_is_not_proven_is_inconclusive_not_pass():
    rng = np.random.default_rng(13)
    # very noisy data: the canary's median is 50 % higher but the spread is huge
    base = _lognormal(rng, 120, 40.0, sigma=1.6)
    canary = _lognormal(rng, 120, 60.0, sigma=1.6)
    check = compare_latency(base, canary, JudgeConfig(min_samples=100))
    assert check.value > 2 * check.objective
    assert check.verdict is Verdict.INCONCLUSIVE
    assert check.samples_needed is not None and check.samples_needed > 120


def test_a_tail_only_regression_fails_the_tail_comparison_not_the_median():
    rng = np.random.default_rng(6)
    base = _lognormal(rng, 5000, 40.0)
    canary = _lognormal(rng, 2000, 40.0)
    slow = rng.random(2000) < 0.10
    canary[slow] += 300.0
    assert compare_latency_tail(base, canary).verdict is Verdict.FAIL
    assert compare_latency(base, canary).verdict is not Verdict.FAIL


def test_a_small_error_increase_below_the_floor_passes():
    check = compare_errors(20, 10_000, 25, 10_000)
    assert check.verdict is Verdict.PASS
    assert check.value == pytest.approx(0.0005)


def test_hodges_lehmann_recovers_a_known_shift_inside_its_interval():
    rng = np.random.default_rng(7)
    base = rng.normal(100.0, 10.0, 4000)
    canary = rng.normal(112.0, 10.0, 1500)
    est, lo, hi = hodges_lehmann(canary, base)
    assert lo < 12.0 < hi
    assert est == pytest.approx(12.0, abs=1.5)


def test_baseline_is_restricted_to_the_requests_the_canary_served():
    rng = np.random.default_rng(8)
    frame = _frame(rng, 2000, 600, 40.0, 0.002)
    other = pd.DataFrame(
        {"name": "GET /v1/runtime", "revision": "baseline", "latency_ms": _lognormal(rng, 4000, 5.0), "ok": True}
    )
    checks = judge_samples(pd.concat([frame, other], ignore_index=True))
    assert checks[0].verdict is not Verdict.FAIL  # a 5 ms route in the baseline would make it look 8x slower
    assert checks[0].extra["baseline_samples"] <= 2000


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="alpha"):
        JudgeConfig(alpha=1.5)
    with pytest.raises(ValueError, match="beta"):
        JudgeConfig(beta=0.0)


def test_a_full_canary_stage_is_judged_against_an_earlier_baseline():
    rng = np.random.default_rng(9)
    earlier = _frame(rng, 3000, 300, 40.0, 0.002)
    full = _frame(rng, 0, 3000, 60.0, 0.002)
    checks = judge_samples(full, reference=earlier)
    assert checks[0].verdict is Verdict.FAIL
    assert all(c.scope == "canary-vs-earlier-baseline" for c in checks)
    assert judge_samples(full)[0].verdict is Verdict.INCONCLUSIVE


def test_one_error_in_two_hundred_requests_never_fails():
    check = compare_errors(0, 180, 1, 200)
    assert check.value >= check.objective
    assert check.verdict is Verdict.INCONCLUSIVE
    assert "keep collecting" in check.detail


def test_at_full_weight_baseline_traffic_on_other_routes_does_not_hide_the_earlier_baseline():
    rng = np.random.default_rng(10)
    earlier = _frame(rng, 20_000, 300, 40.0, 0.002)
    full = _frame(rng, 0, 20_000, 40.0, 0.002)
    others = pd.DataFrame({"name": "GET /v1/governance/policies", "revision": "baseline",
                           "latency_ms": _lognormal(rng, 900, 5.0), "ok": True})
    checks = judge_samples(pd.concat([full, others], ignore_index=True), reference=earlier)
    assert [c.verdict for c in checks] == [Verdict.PASS] * 3
    assert all(c.scope == "canary-vs-earlier-baseline" for c in checks)


def test_at_full_weight_nothing_is_compared_not_even_leftover_baseline_rows():
    rng = np.random.default_rng(12)
    earlier = _frame(rng, 20_000, 300, 40.0, 0.002)
    full = _frame(rng, 0, 20_000, 40.0, 0.002)
    # the same request name, but rejected fast by the edge (which stamps the baseline revision)
    rejected = pd.DataFrame({"name": "POST /v1/route", "revision": "baseline",
                             "latency_ms": _lognormal(rng, 400, 3.0), "ok": True})
    frame = pd.concat([full, rejected], ignore_index=True)
    assert judge_samples(frame)[0].verdict is Verdict.FAIL  # unlike with unlike
    assert judge_samples(frame, reference=earlier, full_weight=True) == []  # a 100 % stage compares nothing


TIER_MS = {"small": 20.0, "medium": 60.0, "large": 150.0}


def _answered(rng: np.random.Generator, revision: str, n: int, hit_ratio: float, slower_ms: float = 0.0) -> pd.DataFrame:
    """Requests as the platform answers them: cache hits fast, misses at their tier's model latency."""
    tier = rng.choice(list(TIER_MS), size=n, p=[0.7, 0.225, 0.075])
    hit = rng.random(n) < hit_ratio
    model = np.array([TIER_MS[t] for t in tier]) * rng.lognormal(0.0, 0.3, n)
    latency = np.where(hit, rng.lognormal(np.log(3.0), 0.3, n), model + slower_ms)
    return pd.DataFrame({"ts": np.arange(n, dtype=float), "name": "POST /v1/route", "revision": revision,
                         "latency_ms": latency, "ok": True, "cache": np.where(hit, "hit", "miss"), "tier": tier})


def test_a_cold_private_cache_is_not_read_as_a_slower_canary():
    rng = np.random.default_rng(30)
    frame = pd.concat([_answered(rng, "baseline", 20_000, 0.7), _answered(rng, "canary", 2_000, 0.0)])
    unmatched = judge_samples(frame, JudgeConfig(shared_cache=True))[0]
    assert unmatched.verdict is Verdict.FAIL  # all misses vs mostly hits: unlike with unlike
    matched = judge_samples(frame)[0]
    assert matched.verdict is not Verdict.FAIL and "like with like" in matched.detail


def test_a_canary_slower_on_the_same_kind_of_request_still_fails_when_matched():
    rng = np.random.default_rng(31)
    frame = pd.concat([_answered(rng, "baseline", 20_000, 0.7), _answered(rng, "canary", 2_000, 0.0, slower_ms=40.0)])
    check = judge_samples(frame)[0]
    assert check.verdict is Verdict.FAIL and "like with like" in check.detail
