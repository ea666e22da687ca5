"""Canary-vs-baseline judge: is the canary *meaningfully and provably* worse?

Learned from Kayenta's NetflixACAJudge and changed where it is weak:

- the effect size is primary: a comparison FAILs only when the regression is
  both statistically significant *and* at least the configured minimum effect;
  a large observed regression that is not (yet) significant is INCONCLUSIVE,
  never a pass (Kayenta passes a 23 % regression when the CI is wide);
- significance level and effect floors are configuration, not constants;
- a minimum sample count per revision, below which the verdict is INCONCLUSIVE;
- no group scores: every comparison is its own `Check`, and any FAIL fails.

Decision rule per comparison (documented in docs/summary-schema.md as well):
thin data → INCONCLUSIVE; effect < floor → PASS; effect ≥ floor and
p < alpha → FAIL; effect ≥ 2 × floor and alpha ≤ p < suggestive_p →
INCONCLUSIVE (large and suggestive, but unproven); any other non-significant
effect → PASS (noise: one error in 200 requests, or a shift just over the
floor that the data cannot tell from chance, is not evidence of anything).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from harness._verdicts import Check, Verdict

__all__ = [
    "JudgeConfig",
    "judge_samples",
    "compare_latency",
    "compare_latency_tail",
    "compare_errors",
    "hodges_lehmann",
]


@dataclass(frozen=True)
class JudgeConfig:
    """Knobs of the canary judge; defaults are the documented policy."""

    baseline_revision: str = "baseline"
    """Value of the samples' `revision` column for the baseline."""
    canary_revision: str = "canary"
    """Value of the samples' `revision` column for the canary."""
    min_samples: int = 100
    """Fewer rows than this on either side → INCONCLUSIVE."""
    alpha: float = 0.01
    """One-sided significance level of every test: below it a large effect FAILs."""
    suggestive_p: float = 0.2
    """Between `alpha` and this, a large effect is INCONCLUSIVE; above it, noise (PASS)."""
    suggestive_factor: float = 2.0
    """'Large' for the INCONCLUSIVE zone: at least this many times the minimum effect."""
    latency_column: str = "latency_ms"
    """Service time by default; `co_latency_ms` includes load-generator queueing."""
    latency_ok_only: bool = True
    """Judge latency on successful requests only (fast failures would flatter it)."""
    latency_min_relative: float = 0.10
    """Minimum effect: shift of +10 % of the baseline median (or p95 for the tail)…"""
    latency_min_absolute_ms: float = 5.0
    """…and at least +5 ms; the floor is the larger of the two."""
    tail_quantile: float = 0.95
    """Quantile compared by the tail comparison."""
    error_min_increase: float = 0.005
    """Minimum effect on the error ratio: +0.5 percentage points."""
    same_requests_only: bool = True
    """Compare only request names the canary served (other routes never reach a canary)."""

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise ValueError("alpha must be in (0, 1)")
        if not self.alpha <= self.suggestive_p <= 1:
            raise ValueError("suggestive_p must be in [alpha, 1]")
        if self.min_samples < 2:
            raise ValueError("min_samples must be >= 2")
        if not 0 < self.tail_quantile < 1:
            raise ValueError("tail_quantile must be in (0, 1)")


def _decide(effect: float, floor: float, p_value: float, config: JudgeConfig) -> tuple[Verdict, str]:
    if effect < floor:
        return Verdict.PASS, "below the minimum effect"
    if p_value < config.alpha:
        return Verdict.FAIL, f"at least the minimum effect and significant (p={p_value:.2g} < {config.alpha})"
    if p_value < config.suggestive_p and effect >= config.suggestive_factor * floor:
        return Verdict.INCONCLUSIVE, (
            f"over {config.suggestive_factor:g}x the minimum effect but not significant (p={p_value:.2g}): more data needed"
        )
    return Verdict.PASS, f"at least the minimum effect but not distinguishable from noise (p={p_value:.2g})"


def hodges_lehmann(canary: np.ndarray, baseline: np.ndarray, confidence: float = 0.98) -> tuple[float, float, float]:
    """Hodges-Lehmann shift (canary − baseline) and its two-sided CI.

    The shift d makes the rank-sum statistic of (canary − d) vs baseline equal
    its null mean; found by bisection on U(d), computed with sorted searches,
    so it costs O(n log n) per step instead of materialising n·m pairs.
    """
    c = np.sort(np.asarray(canary, dtype=float))
    b = np.sort(np.asarray(baseline, dtype=float))
    n, m = len(c), len(b)
    mean_u = n * m / 2.0
    sigma = math.sqrt(n * m * (n + m + 1) / 12.0)
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))

    def u_of(d: float) -> float:
        shifted = c - d
        less = np.searchsorted(b, shifted, side="left")
        less_eq = np.searchsorted(b, shifted, side="right")
        return float(np.sum(less) + 0.5 * np.sum(less_eq - less))

    lo_bound = float(c[0] - b[-1]) - 1.0
    hi_bound = float(c[-1] - b[0]) + 1.0
    tolerance = 1e-4 * max(1.0, float(np.median(np.abs(b))))  # 0.1 µs at a 1 ms scale

    def solve(target: float) -> float:
        lo, hi = lo_bound, hi_bound  # u_of decreases in d
        for _ in range(100):
            mid = (lo + hi) / 2.0
            if u_of(mid) > target:
                lo = mid
            else:
                hi = mid
            if hi - lo < tolerance:
                break
        return (lo + hi) / 2.0

    estimate = solve(mean_u)
    ci_low = solve(mean_u + z * sigma)
    ci_high = solve(mean_u - z * sigma)
    return estimate, ci_low, ci_high


def _thin(name: str, n_base: int, n_canary: int, config: JudgeConfig, unit: str, op: str = "lt") -> Check:
    return Check(
        name=name,
        verdict=Verdict.INCONCLUSIVE,
        value=None,
        objective=None,
        op=op,
        unit=unit,
        samples=min(n_base, n_canary),
        scope="canary-vs-baseline",
        kind="comparison",
        detail=f"too few samples: baseline {n_base}, canary {n_canary} (need {config.min_samples} each)",
        extra={"baseline_samples": n_base, "canary_samples": n_canary, "min_samples": config.min_samples},
    )


def compare_latency(baseline: np.ndarray, canary: np.ndarray, config: JudgeConfig | None = None) -> Check:
    """Mann-Whitney U (canary greater) with the Hodges-Lehmann shift as the effect."""
    cfg = config or JudgeConfig()
    b, c = np.asarray(baseline, dtype=float), np.asarray(canary, dtype=float)
    name = "compare/latency"
    if len(b) < cfg.min_samples or len(c) < cfg.min_samples:
        return _thin(name, len(b), len(c), cfg, "ms")
    p_value = float(stats.mannwhitneyu(c, b, alternative="greater").pvalue)
    shift, ci_low, ci_high = hodges_lehmann(c, b, confidence=1 - 2 * cfg.alpha)
    base_median = float(np.median(b))
    floor = max(cfg.latency_min_relative * base_median, cfg.latency_min_absolute_ms)
    verdict, why = _decide(shift, floor, p_value, cfg)
    relative = shift / base_median if base_median > 0 else math.nan
    return Check(
        name=name,
        verdict=verdict,
        value=shift,
        objective=floor,
        op="lt",
        unit="ms",
        samples=min(len(b), len(c)),
        scope="canary-vs-baseline",
        kind="comparison",
        detail=f"median shift {shift:+.1f} ms ({relative:+.1%}) vs floor {floor:.1f} ms: {why}",
        extra={
            "test": "mann-whitney-u",
            "p_value": p_value,
            "alpha": cfg.alpha,
            "effect": shift,
            "effect_relative": relative if math.isfinite(relative) else None,
            "effect_ci": [ci_low, ci_high],
            "baseline_median_ms": base_median,
            "canary_median_ms": float(np.median(c)),
            "baseline_samples": len(b),
            "canary_samples": len(c),
        },
    )


def compare_latency_tail(baseline: np.ndarray, canary: np.ndarray, config: JudgeConfig | None = None) -> Check:
    """Tail regression: canary p95 vs baseline p95, tested by exceedance counts.

    Under no change, the share of canary requests slower than the baseline's
    p95 is 5 %; Fisher's exact test on the two exceedance counts says whether
    the canary exceeds more often. A median test alone misses tail-only defects.
    """
    cfg = config or JudgeConfig()
    b, c = np.asarray(baseline, dtype=float), np.asarray(canary, dtype=float)
    q = cfg.tail_quantile
    name = f"compare/latency-p{round(q * 100):d}"
    if len(b) < cfg.min_samples or len(c) < cfg.min_samples:
        return _thin(name, len(b), len(c), cfg, "ms")
    base_q, canary_q = float(np.quantile(b, q)), float(np.quantile(c, q))
    over_b, over_c = int(np.sum(b > base_q)), int(np.sum(c > base_q))
    table = [[over_c, len(c) - over_c], [over_b, len(b) - over_b]]
    p_value = float(stats.fisher_exact(table, alternative="greater").pvalue)
    increase = canary_q - base_q
    floor = max(cfg.latency_min_relative * base_q, cfg.latency_min_absolute_ms)
    verdict, why = _decide(increase, floor, p_value, cfg)
    return Check(
        name=name,
        verdict=verdict,
        value=increase,
        objective=floor,
        op="lt",
        unit="ms",
        samples=min(len(b), len(c)),
        scope="canary-vs-baseline",
        kind="comparison",
        detail=f"p{round(q * 100)} {base_q:.1f} → {canary_q:.1f} ms ({increase:+.1f} ms) vs floor {floor:.1f} ms: {why}",
        extra={
            "test": "fisher-exact-exceedance",
            "p_value": p_value,
            "alpha": cfg.alpha,
            "effect": increase,
            "effect_relative": increase / base_q if base_q > 0 else None,
            "baseline_quantile_ms": base_q,
            "canary_quantile_ms": canary_q,
            "canary_exceedance": over_c / len(c),
            "baseline_samples": len(b),
            "canary_samples": len(c),
        },
    )


def compare_errors(
    baseline_errors: int, baseline_total: int, canary_errors: int, canary_total: int, config: JudgeConfig | None = None
) -> Check:
    """One-sided Fisher exact test on error counts; effect = difference in error ratio."""
    cfg = config or JudgeConfig()
    name = "compare/errors"
    if baseline_total < cfg.min_samples or canary_total < cfg.min_samples:
        return _thin(name, baseline_total, canary_total, cfg, "ratio")
    table = [[canary_errors, canary_total - canary_errors], [baseline_errors, baseline_total - baseline_errors]]
    p_value = float(stats.fisher_exact(table, alternative="greater").pvalue)
    base_ratio, canary_ratio = baseline_errors / baseline_total, canary_errors / canary_total
    increase = canary_ratio - base_ratio
    verdict, why = _decide(increase, cfg.error_min_increase, p_value, cfg)
    return Check(
        name=name,
        verdict=verdict,
        value=increase,
        objective=cfg.error_min_increase,
        op="lt",
        unit="ratio",
        samples=min(baseline_total, canary_total),
        scope="canary-vs-baseline",
        kind="comparison",
        detail=(
            f"error ratio {base_ratio:.2%} → {canary_ratio:.2%} ({increase * 100:+.2f} pp) "
            f"vs floor {cfg.error_min_increase * 100:.2f} pp: {why}"
        ),
        extra={
            "test": "fisher-exact",
            "p_value": p_value,
            "alpha": cfg.alpha,
            "effect": increase,
            "baseline_error_ratio": base_ratio,
            "canary_error_ratio": canary_ratio,
            "baseline_errors": baseline_errors,
            "canary_errors": canary_errors,
            "baseline_samples": baseline_total,
            "canary_samples": canary_total,
        },
    )


def judge_samples(
    samples: pd.DataFrame,
    config: JudgeConfig | None = None,
    *,
    reference: pd.DataFrame | None = None,
    full_weight: bool = False,
) -> list[Check]:
    """Every comparison of one stage's samples (the `harness.samples` columns).

    At a 100 % stage (`full_weight`) no baseline traffic of the service under
    rollout is left — baseline rows that remain are answered elsewhere (e.g.
    requests the edge rejects itself) and would compare unlike with unlike —
    so `reference` (an earlier stage's samples) supplies the baseline; it also
    does whenever the stage has too little baseline. Each check's scope then
    says `canary-vs-earlier-baseline`: it is no longer same-time traffic.
    """
    cfg = config or JudgeConfig()
    canary = samples[samples["revision"] == cfg.canary_revision]
    names = set(canary["name"]) if cfg.same_requests_only and len(canary) else None

    def baseline_of(frame: pd.DataFrame) -> pd.DataFrame:
        rows = frame[frame["revision"] == cfg.baseline_revision]
        return rows[rows["name"].isin(names)] if names is not None else rows

    baseline = baseline_of(samples)
    scope = "canary-vs-baseline"
    if (full_weight or len(baseline) < cfg.min_samples) and reference is not None and len(reference):
        baseline = baseline_of(reference)
        scope = "canary-vs-earlier-baseline"
    ok_b = baseline["ok"].astype(bool)
    ok_c = canary["ok"].astype(bool)
    lat_b = baseline.loc[ok_b, cfg.latency_column] if cfg.latency_ok_only else baseline[cfg.latency_column]
    lat_c = canary.loc[ok_c, cfg.latency_column] if cfg.latency_ok_only else canary[cfg.latency_column]
    lat_b_arr, lat_c_arr = lat_b.dropna().to_numpy(float), lat_c.dropna().to_numpy(float)
    checks = [
        compare_latency(lat_b_arr, lat_c_arr, cfg),
        compare_latency_tail(lat_b_arr, lat_c_arr, cfg),
        compare_errors(int((~ok_b).sum()), len(baseline), int((~ok_c).sum()), len(canary), cfg),
    ]
    return [replace(c, scope=scope) for c in checks]
