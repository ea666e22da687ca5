"""Anytime-valid, distribution-free confidence sequences for a quantile.

The count S(ξ) = #{X_i ≤ ξ} at the true q-quantile ξ_q is Binomial(n, q)
(for a continuous distribution), so the beta-binomial confidence sequence of
`_proportion` tested at p = q accepts a set of counts [s_lo, s_hi] for every
n with probability ≥ 1 − α simultaneously. Inverting it over the order
statistics gives the sequence [X(s_lo), X(s_hi + 1)] for ξ_q (Howard &
Ramdas, "Sequential estimation of quantiles", Bernoulli 2022, Thm 1, with a
beta-binomial rather than a normal-mixture boundary). s_lo = 0 or
s_hi = n make that side unbounded: the p95 of 57 requests has no upper bound.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

from harness.stats._proportion import DEFAULT_STRENGTH, log_mixture, prior

__all__ = ["count_bounds", "quantile_cs"]


def count_bounds(
    n: ArrayLike, q: float, alpha: float, strength: float = DEFAULT_STRENGTH
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(s_lo, s_hi): the accepted range of #{X ≤ ξ_q} after n samples (vectorised over n)."""
    a, b = prior(q, strength)
    n_ = np.atleast_1d(np.asarray(n, dtype=np.int64))
    crit = math.log(1.0 / alpha)
    centre = np.clip(np.round(n_ * q), 0, n_).astype(np.int64)

    def accepted(s: NDArray[np.int64]) -> NDArray[np.bool_]:
        return np.asarray(log_mixture(s, n_, q, a, b) < crit)

    # smallest accepted s in [0, centre]: log M is convex in s, minimum near n·q
    lo, hi = np.full_like(n_, -1), centre.copy()  # lo rejected (or -1), hi accepted
    for _ in range(64):
        if np.all(hi - lo <= 1):
            break
        mid = (lo + hi) // 2
        ok = accepted(np.maximum(mid, 0))
        lo, hi = np.where(ok, lo, mid), np.where(ok, mid, hi)
    s_lo = hi
    lo, hi = centre.copy(), n_ + 1  # lo accepted, hi rejected (or n+1)
    for _ in range(64):
        if np.all(hi - lo <= 1):
            break
        mid = (lo + hi) // 2
        ok = accepted(np.minimum(mid, n_))
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
    s_hi = lo
    return s_lo, s_hi


def quantile_cs(values: ArrayLike, q: float, alpha: float, strength: float = DEFAULT_STRENGTH,
                *, presorted: bool = False) -> tuple[float, float]:
    """The level-(1 − alpha) confidence-sequence interval for the q-quantile of `values`."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    if n == 0:
        return -math.inf, math.inf
    s_lo, s_hi = _bounds_for(n, q, alpha, strength)
    ks = [k for k in (s_lo - 1, s_hi) if 0 <= k < n]
    part = x if presorted else np.partition(x, ks) if ks else x
    low = float(part[s_lo - 1]) if s_lo >= 1 else -math.inf
    high = float(part[s_hi]) if s_hi < n else math.inf
    return low, high


@lru_cache(maxsize=4096)
def _bounds_for(n: int, q: float, alpha: float, strength: float) -> tuple[int, int]:
    """`count_bounds` for one n, cached: the stage loop asks for the same few again and again."""
    s_lo, s_hi = count_bounds(n, q, alpha, strength)
    return int(s_lo[0]), int(s_hi[0])
