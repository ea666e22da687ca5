"""Anytime-valid confidence sequences for a proportion (beta-binomial mixture).

For i.i.d. Bernoulli(p) observations with S successes in n trials, the
mixture likelihood ratio

    M_n(p) = ∫ Π θ^x (1-θ)^(1-x) dBeta(θ; a, b) / (p^S (1-p)^(n-S))
           = B(a+S, b+n-S) / B(a, b) / (p^S (1-p)^(n-S))

is a nonnegative martingale with mean 1 under p, so by Ville's inequality
P(∃ n: M_n(p) ≥ 1/α) ≤ α. The set {p : M_n(p) < 1/α} is therefore a
*confidence sequence*: it covers the true p at every n simultaneously with
probability ≥ 1 − α, so it may be looked at after every request (Robbins
1970; Howard, Ramdas, McAuliffe, Sekhon 2021, §3). log M_n is convex in p
with its minimum (≤ 0) at S/n, so the set is one interval, found by bisection.

The prior Beta(a, b) is a tuning choice that never affects validity: its
mean is put at the value being judged (the objective) and its strength (a+b)
near the sample sizes a stage reaches, where the sequence is then tightest.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import betaln, xlogy

__all__ = ["DEFAULT_STRENGTH", "prior", "log_mixture", "proportion_cs", "samples_to_exclude"]

#: Prior strength a+b: the sequence is tightest around this many samples.
DEFAULT_STRENGTH = 100.0

_ITER = 45


def prior(mean: float, strength: float = DEFAULT_STRENGTH) -> tuple[float, float]:
    """Beta(a, b) with the given mean (clipped into (0, 1)) and a+b = strength."""
    m = min(max(float(mean), 1e-4), 1 - 1e-4)
    return m * strength, (1 - m) * strength


def log_mixture(s: ArrayLike, n: ArrayLike, p: ArrayLike, a: float, b: float) -> NDArray[np.float64]:
    """log M_n(p) for S successes in n trials (broadcasting)."""
    s_, n_, p_ = (np.asarray(x, dtype=float) for x in (s, n, p))
    with np.errstate(divide="ignore", invalid="ignore"):
        null = xlogy(s_, p_) + xlogy(n_ - s_, 1.0 - p_)
        out = betaln(a + s_, b + n_ - s_) - betaln(a, b) - null
    return np.asarray(np.where(np.isnan(out), np.inf, out), dtype=float)


def proportion_cs(
    s: ArrayLike, n: ArrayLike, alpha: float, a: float, b: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(low, high) of the level-(1 − alpha) confidence sequence for p (vectorised).

    n = 0 gives (0, 1): no data, no information.
    """
    s_ = np.atleast_1d(np.asarray(s, dtype=float))
    n_ = np.broadcast_to(np.atleast_1d(np.asarray(n, dtype=float)), s_.shape)
    crit = math.log(1.0 / alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        phat = np.where(n_ > 0, s_ / np.where(n_ > 0, n_, 1.0), 0.5)
    lo_a, lo_b = np.zeros_like(phat), phat.copy()  # low bound in [lo_a, lo_b]; rejected at lo_a
    hi_a, hi_b = phat.copy(), np.ones_like(phat)
    for _ in range(_ITER):
        mid = (lo_a + lo_b) / 2
        rejected = log_mixture(s_, n_, mid, a, b) >= crit
        lo_a, lo_b = np.where(rejected, mid, lo_a), np.where(rejected, lo_b, mid)
        mid = (hi_a + hi_b) / 2
        rejected = log_mixture(s_, n_, mid, a, b) >= crit
        hi_a, hi_b = np.where(rejected, hi_a, mid), np.where(rejected, mid, hi_b)
    low = np.where((s_ <= 0) | (n_ <= 0), 0.0, lo_a)  # lo_a: largest rejected → conservative
    high = np.where((s_ >= n_) | (n_ <= 0), 1.0, hi_b)
    return low, high


def samples_to_exclude(phat: float, p0: float, alpha: float, a: float, b: float, n_now: int,
                       limit: int = 10_000_000) -> int | None:
    """Estimated total n at which the sequence would exclude p0 if S/n stayed at `phat`.

    None when phat equals p0 (no amount of such data decides) or beyond `limit`.
    """
    if not (0.0 <= phat <= 1.0) or abs(phat - p0) < 1e-12:
        return None
    crit = math.log(1.0 / alpha)

    def decides(n: float) -> bool:
        return bool(log_mixture(phat * n, n, p0, a, b)[()] >= crit)

    hi = max(1, n_now)
    while not decides(hi):
        hi *= 2
        if hi > limit:
            return None
    lo = hi // 2 if hi > 1 else 0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if decides(mid) else (mid, hi)
    return int(max(hi, n_now + 1))
