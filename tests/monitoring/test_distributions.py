from __future__ import annotations

import numpy as np
import pytest
from google.api.distribution_pb2 import Distribution

from harness.monitoring._distribution import bucket_bounds, distribution_percentile, merge_distributions

LINEAR = {"linear_buckets": {"num_finite_buckets": 20, "width": 10.0, "offset": 0.0}}


def _dist(values, options=LINEAR):
    values = np.asarray(values, dtype=float)
    dist = Distribution(bucket_options=options)
    bounds = bucket_bounds(dist.bucket_options)
    counts = np.bincount(np.searchsorted(bounds, values, side="right"), minlength=len(bounds) + 1)
    dist.count, dist.mean = len(values), float(values.mean())
    dist.sum_of_squared_deviation = float(((values - values.mean()) ** 2).sum())
    dist.bucket_counts.extend(int(c) for c in counts)
    return dist


def test_bucket_bounds_follow_linear_exponential_and_explicit_options():
    assert bucket_bounds(Distribution(bucket_options=LINEAR).bucket_options)[:3] == [0.0, 10.0, 20.0]
    exp = Distribution(bucket_options={"exponential_buckets": {"num_finite_buckets": 3, "growth_factor": 2.0, "scale": 1.5}})
    assert bucket_bounds(exp.bucket_options) == [1.5, 3.0, 6.0, 12.0]
    explicit = Distribution(bucket_options={"explicit_buckets": {"bounds": [1.0, 5.0, 25.0]}})
    assert bucket_bounds(explicit.bucket_options) == [1.0, 5.0, 25.0]


def test_a_percentile_is_interpolated_within_its_bucket():
    values = np.arange(1, 101, dtype=float)  # 1..100, ten per bucket of width 10
    dist = _dist(values)
    assert distribution_percentile(dist, 95) == pytest.approx(95.0, abs=2.0)
    assert distribution_percentile(dist, 50) == pytest.approx(50.0, abs=2.0)
    assert distribution_percentile(Distribution(bucket_options=LINEAR), 95) is None


def test_merged_distributions_equal_the_distribution_of_all_values():
    rng = np.random.default_rng(1)
    a, b = rng.uniform(0, 100, 500), rng.uniform(50, 150, 300)
    merged = merge_distributions([_dist(a), _dist(b)])
    whole = _dist(np.concatenate([a, b]))
    assert merged.count == whole.count and list(merged.bucket_counts) == list(whole.bucket_counts)
    assert merged.mean == pytest.approx(whole.mean)
    assert merged.sum_of_squared_deviation == pytest.approx(whole.sum_of_squared_deviation)


def test_distributions_with_different_buckets_are_not_merged():
    other = {"linear_buckets": {"num_finite_buckets": 20, "width": 5.0, "offset": 0.0}}
    with pytest.raises(ValueError, match="different bucket options"):
        merge_distributions([_dist([1.0]), _dist([1.0], other)])
