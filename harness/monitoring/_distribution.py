"""Cloud Monitoring distributions: merging them and reading percentiles off their buckets.

Cloud Run's `request_latencies` is a DELTA distribution with exponential
buckets. A percentile over a stage is read from the summed bucket counts by
linear interpolation inside the bucket that holds the rank, the way Cloud
Monitoring's own ALIGN_PERCENTILE_* aligners estimate it; its error is at
most one bucket's width, which the SLO report states beside the value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from google.api import distribution_pb2
from google.api.distribution_pb2 import Distribution

__all__ = ["bucket_bounds", "merge_distributions", "distribution_percentile"]



def bucket_bounds(options: distribution_pb2.Distribution.BucketOptions) -> list[float]:
    """The finite bucket boundaries: bucket 0 is (-inf, b0), bucket i is [b(i-1), b(i)), the last [b(n-1), inf)."""
    which = options.WhichOneof("options")
    if which == "linear_buckets":
        lin = options.linear_buckets
        return [lin.offset + lin.width * i for i in range(lin.num_finite_buckets + 1)]
    if which == "exponential_buckets":
        exp = options.exponential_buckets
        return [exp.scale * exp.growth_factor**i for i in range(exp.num_finite_buckets + 1)]
    if which == "explicit_buckets":
        return list(options.explicit_buckets.bounds)
    raise ValueError("distribution has no bucket options")


def merge_distributions(dists: Sequence[Distribution]) -> Distribution:
    """Sum distributions that share bucket options (count, mean, deviation, buckets, range)."""
    present = [d for d in dists if d.count > 0]
    if not present:
        return Distribution(bucket_options=dists[0].bucket_options) if dists else Distribution()
    first = present[0]
    for other in present[1:]:
        if other.bucket_options != first.bucket_options:
            raise ValueError("cannot merge distributions with different bucket options")
    count = sum(d.count for d in present)
    mean = sum(d.mean * d.count for d in present) / count
    # Chan et al.: pooled sum of squared deviations.
    ssd = sum(d.sum_of_squared_deviation + d.count * (d.mean - mean) ** 2 for d in present)
    width = max(len(d.bucket_counts) for d in present)
    buckets = [sum(d.bucket_counts[i] for d in present if i < len(d.bucket_counts)) for i in range(width)]
    merged = Distribution(
        count=count, mean=mean, sum_of_squared_deviation=ssd, bucket_options=first.bucket_options, bucket_counts=buckets
    )
    ranged = [d for d in present if d.HasField("range")]
    if ranged:
        merged.range.min = min(d.range.min for d in ranged)
        merged.range.max = max(d.range.max for d in ranged)
    return merged


def distribution_percentile(dist: Distribution, percentile: float) -> float | None:
    """The `percentile` (0 < p ≤ 100) of `dist`, interpolated inside its bucket; None when empty.

    Without bucket counts (a distribution of a single bucket) only the mean
    is known, and it is returned for p50 and refused (None) otherwise.
    """
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    if dist.count <= 0:
        return None
    if not dist.bucket_counts:
        return dist.mean if percentile == 50 else None
    bounds = bucket_bounds(dist.bucket_options)
    rank = percentile / 100.0 * dist.count
    seen = 0
    for index, in_bucket in enumerate(dist.bucket_counts):
        if in_bucket <= 0:
            continue
        if seen + in_bucket >= rank:
            low, high = _bucket_range(dist, bounds, index)
            fraction = (rank - seen) / in_bucket
            return float(low + (high - low) * fraction)
        seen += in_bucket
    return float(dist.range.max) if dist.HasField("range") else bounds[-1]


def _bucket_range(dist: Distribution, bounds: list[float], index: int) -> tuple[float, float]:
    """Lower and upper edge of bucket `index`, clipped to the observed range when known."""
    low = bounds[index - 1] if index >= 1 else -math.inf
    high = bounds[index] if index < len(bounds) else math.inf
    if dist.HasField("range"):
        low, high = max(low, dist.range.min), min(high, dist.range.max)
    if math.isinf(low):
        low = min(high, 0.0) if not math.isinf(high) else dist.mean
    if math.isinf(high):
        high = max(low, dist.mean)
    return low, high
