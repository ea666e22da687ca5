"""At the maximum duration an undecided check leaning to pass promotes; one leaning to fail never does."""

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


def test_an_undecided_check_leaning_to_fail_stays_inconclusive_and_nothing_becomes_a_fail():
    leaning_fail = compare_errors(2, 2000, 3, 200)  # +1.4 pp on 200 requests: suggestive, unproven
    thin = compare_errors(0, 50, 0, 50)
    assert leaning_fail.verdict is Verdict.INCONCLUSIVE
    settled = settle_at_max_duration([leaning_fail, thin])
    assert [c.verdict for c in settled] == [Verdict.INCONCLUSIVE, Verdict.INCONCLUSIVE]


def test_a_noisy_cost_estimate_on_the_bad_side_settles_only_if_no_increase_was_shown() -> None:
    from harness._verdicts import Check, Verdict
    from harness.stats import settle_at_max_duration

    noisy = Check("cost/per-request", Verdict.INCONCLUSIVE, 0.32, 0.10, "lte", kind="cost", interval=(-0.83, 1.52))
    shown = Check("cost/per-request", Verdict.INCONCLUSIVE, 0.32, 0.10, "lte", kind="cost", interval=(0.04, 0.61))
    [noisy_after, shown_after] = settle_at_max_duration([noisy, shown])
    assert noisy_after.verdict is Verdict.PASS and noisy_after.extra["settled_at_max_duration"]
    assert shown_after.verdict is Verdict.INCONCLUSIVE  # shown costlier, not shown beyond the limit: never promotes
