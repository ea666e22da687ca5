"""Confidence sequences cover the truth at every look at once (seeded simulations)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.stats import bounded_mean_cs, count_bounds, prior, proportion_cs, quantile_cs, samples_to_exclude

LOOKS = np.arange(20, 2001, 20)


def test_the_proportion_sequence_covers_p_at_every_look_in_at_least_1_minus_alpha_of_paths():
    rng = np.random.default_rng(0)
    alpha, paths = 0.05, 200
    for p in (0.01, 0.05, 0.3):
        s = np.cumsum(rng.random((paths, LOOKS[-1])) < p, axis=1)[:, LOOKS - 1]
        lo, hi = proportion_cs(s.ravel(), np.tile(LOOKS, paths), alpha, *prior(p))
        missed = ((lo > p) | (hi < p)).reshape(paths, len(LOOKS)).any(axis=1)
        assert missed.mean() <= alpha, (p, missed.mean())


def test_the_quantile_sequence_covers_the_true_quantile_at_every_look():
    rng = np.random.default_rng(1)
    alpha, paths, q = 0.05, 300, 0.95
    true = math.exp(3 + 0.8 * 1.6448536269514722)  # p95 of lognormal(3, 0.8)
    x = rng.lognormal(3, 0.8, (paths, LOOKS[-1]))
    s_lo, s_hi = count_bounds(LOOKS, q, alpha)
    missed = np.zeros(paths, dtype=bool)
    for n, lo_k, hi_k in zip(LOOKS, s_lo, s_hi, strict=True):
        ordered = np.sort(x[:, :n], axis=1)
        low = ordered[:, lo_k - 1] if lo_k >= 1 else np.full(paths, -np.inf)
        high = ordered[:, hi_k] if hi_k < n else np.full(paths, np.inf)
        missed |= (low > true) | (high < true)
    assert missed.mean() <= alpha, missed.mean()


def test_the_bounded_mean_sequence_covers_a_skewed_mean():
    rng = np.random.default_rng(2)
    prices = np.array([0.0002, 0.002, 0.012])
    mean = float(prices @ [0.6, 0.3, 0.1])
    misses = 0
    for _ in range(200):
        x = rng.choice(prices, size=2000, p=[0.6, 0.3, 0.1])
        lo, hi = bounded_mean_cs(x, 0.05, 0.012)  # the running intersection: covered at every n or not at all
        misses += not lo <= mean <= hi
    assert misses / 200 <= 0.05


def test_a_p95_of_57_has_no_upper_bound_and_its_lower_bound_ignores_the_3_worst():
    x = np.array([40.0 + i for i in range(54)] + [458.0, 470.0, 900.0])
    low, high = quantile_cs(x, 0.95, 0.0025)
    assert high == math.inf and low < 100.0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.1, 1e4), min_size=1, max_size=400), st.sampled_from([0.5, 0.9, 0.95, 0.99]))
def test_a_quantile_interval_holds_the_sample_quantile_and_widens_with_confidence(values: list[float], q: float):
    x = np.array(values)
    point = float(np.percentile(x, q * 100, method="inverted_cdf"))
    lo, hi = quantile_cs(x, q, 0.05)
    lo2, hi2 = quantile_cs(x, q, 0.001)
    assert lo <= point <= hi
    assert lo2 <= lo and hi2 >= hi


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 5000), st.integers(1, 5000))
def test_a_proportion_interval_holds_the_observed_ratio(s: int, n: int):
    s = min(s, n)
    lo, hi = proportion_cs(s, n, 0.01, *prior(0.01))
    assert lo[0] <= s / n <= hi[0] and 0.0 <= lo[0] and hi[0] <= 1.0


def test_samples_needed_is_where_the_sequence_would_decide():
    a, b = prior(0.01)
    need = samples_to_exclude(0.0, 0.01, 0.005, a, b, 100)
    assert need is not None
    _, hi = proportion_cs(0, need, 0.005, a, b)
    _, hi_before = proportion_cs(0, need - 1, 0.005, a, b)
    assert hi[0] < 0.01 <= hi_before[0]
    assert samples_to_exclude(0.01, 0.01, 0.005, a, b, 100) is None
