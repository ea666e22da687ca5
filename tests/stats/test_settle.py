"""At the maximum duration an undecided check that never showed the canary worse promotes; one that did never does."""

from __future__ import annotations

import numpy as np

from harness._verdicts import Verdict
from harness.canary._judge import compare_errors, compare_latency_tail
from harness.stats import settle_at_max_duration


def test_an_undecided_healthy_tail_is_promoted_at_the_end_and_says_it_was_not_proven():
    rng = np.random.default_rng(1)
    check = compare_latency_tail(rng.lognormal(4, 0.8, 9000), rng.lognormal(4, 0.8, 900))
    assert check.verdict is Verdict.INCONCLUSIVE
    [settled] = settle_at_max_duration([check])
    assert settled.verdict is Verdict.PASS and "not proven" in settled.detail
    assert settled.extra["settled_at_max_duration"] is True


def test_an_undecided_check_that_showed_the_canary_worse_stays_inconclusive_and_nothing_becomes_a_fail():
    shown_worse = compare_errors(10, 10000, 30, 2000)  # +1.4 pp, interval above 0, not wholly above the 0.5 pp
    thin = compare_errors(0, 50, 0, 50)
    assert shown_worse.verdict is Verdict.INCONCLUSIVE and shown_worse.interval is not None
    assert 0.0 < shown_worse.interval[0] < 0.005 < shown_worse.interval[1]
    settled = settle_at_max_duration([shown_worse, thin])
    assert [c.verdict for c in settled] == [Verdict.INCONCLUSIVE, Verdict.INCONCLUSIVE]


def test_a_comparison_estimate_beyond_the_minimum_effect_promotes_only_if_no_worsening_was_shown() -> None:
    """The fresh-clone main job's healthy 50 % stage: p95 +8.5 ms against a 7.9 ms minimum effect, [-15.1, +29.4]."""
    noisy = compare_errors(2, 2000, 3, 200)  # +1.4 pp on 200 requests: the interval still reaches 0
    assert noisy.verdict is Verdict.INCONCLUSIVE and noisy.interval is not None and noisy.interval[0] <= 0.0
    [after] = settle_at_max_duration([noisy])
    assert after.verdict is Verdict.PASS and after.extra["settled_at_max_duration"]


def test_a_noisy_cost_estimate_on_the_bad_side_settles_only_if_no_increase_was_shown() -> None:
    from harness._verdicts import Check, Verdict
    from harness.stats import settle_at_max_duration

    noisy = Check("cost/per-request", Verdict.INCONCLUSIVE, 0.32, 0.10, "lte", kind="cost", interval=(-0.83, 1.52))
    shown = Check("cost/per-request", Verdict.INCONCLUSIVE, 0.32, 0.10, "lte", kind="cost", interval=(0.04, 0.61))
    [noisy_after, shown_after] = settle_at_max_duration([noisy, shown])
    assert noisy_after.verdict is Verdict.PASS and noisy_after.extra["settled_at_max_duration"]
    assert shown_after.verdict is Verdict.INCONCLUSIVE  # shown costlier, not shown beyond the limit: never promotes


def test_an_interval_open_on_one_side_never_settles_a_regression_it_could_not_have_shown() -> None:
    """A canary 147 ms slower at p95 over a 6 s stage: [-inf, +204.7] reaches 0 only because it is unbounded."""
    import math

    from harness._verdicts import Check

    open_tail = Check("compare/latency-p95", Verdict.INCONCLUSIVE, 146.7, 5.0, "lt", unit="ms", kind="comparison",
                      interval=(-math.inf, 204.7))
    open_cost = Check("cost/per-request", Verdict.INCONCLUSIVE, 0.32, 0.10, "lte", kind="cost",
                      interval=(-1.0, math.inf))
    assert [c.verdict for c in settle_at_max_duration([open_tail, open_cost])] == [Verdict.INCONCLUSIVE] * 2
