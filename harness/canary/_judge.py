"""Canary-vs-baseline judge: is the canary *meaningfully and provably* worse?

Anytime-valid: the stage loop calls these functions every few seconds on
growing samples, and each comparison is a confidence sequence (CS) on the
difference canary − baseline that covers the truth at every look at once
(`harness.stats`; docs/statistics.md). With the configured minimum effect
as practical significance, per comparison:

- FAIL when the whole CS lies above the minimum effect (a regression at
  least that large, proven);
- PASS when the whole CS lies below it (equivalence: any regression is
  smaller than the minimum effect, proven);
- INCONCLUSIVE otherwise ("keep collecting"; at the stage's maximum
  duration the stage is INCONCLUSIVE), with `samples_needed` estimated.

The comparisons: the latency *median* (shift of the whole distribution),
the latency *tail* (p95), the *error ratio*. The two latency CSs are
differences of distribution-free quantile CSs (Howard & Ramdas 2022), the
error CS a difference of beta-binomial proportion CSs; each side gets half
of its comparison's α. `JudgeConfig.alpha` is the false-FAIL budget of all
comparisons together, split evenly (Bonferroni) across the three families.
Learned from Kayenta's NetflixACAJudge and changed where it is weak: the
effect size is primary, levels and floors are configuration, every
comparison is its own `Check`, and peeking never inflates the error rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from harness._verdicts import Check, Verdict
from harness.stats import COMPARISON_ALPHA, decide, prior, proportion_cs, quantile_cs

__all__ = [
    "JudgeConfig",
    "judge_samples",
    "compare_latency",
    "compare_latency_tail",
    "compare_errors",
    "hodges_lehmann",
    "difference_cs",
]

#: The comparison families sharing `JudgeConfig.alpha`: latency median, latency tail, errors.
FAMILIES = 3


@dataclass(frozen=True)
class JudgeConfig:
    """Knobs of the canary judge; defaults are the documented policy."""

    baseline_revision: str = "baseline"
    """Value of the samples' `revision` column for the baseline."""
    canary_revision: str = "canary"
    """Value of the samples' `revision` column for the canary."""
    min_samples: int = 100
    """Fewer rows than this on either side never PASSes (a proven regression still FAILs)."""
    alpha: float = COMPARISON_ALPHA
    """False-FAIL budget of all comparisons of a stage, however often it is judged (α/3 each)."""
    beta: float = 0.10
    """Risk of PASSing a regression exactly at the minimum effect (per comparison): the upper
    bound that proves equivalence is taken at 1 − beta, the lower bound that FAILs at 1 − alpha/3."""
    suggestive_p: float = 0.2
    """Unused since the judge became sequential (an unproven effect is simply INCONCLUSIVE); kept for callers."""
    suggestive_factor: float = 2.0
    """Unused since the judge became sequential; kept for callers."""
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
    shared_cache: bool | None = None
    """Both revisions use one cache. When not (None/False) and the samples say how each request
    was answered (`cache`, `tier` columns), latency is compared like with like: the baseline is
    subsampled to the canary's mix of cache outcome × tier, so a cold private cache (more, and
    pricier, misses) is not read as the canary's code being slower."""

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise ValueError("alpha must be in (0, 1)")
        if not 0 < self.beta < 1:
            raise ValueError("beta must be in (0, 1)")
        if not self.alpha <= self.suggestive_p <= 1:
            raise ValueError("suggestive_p must be in [alpha, 1]")
        if self.min_samples < 2:
            raise ValueError("min_samples must be >= 2")
        if not 0 < self.tail_quantile < 1:
            raise ValueError("tail_quantile must be in (0, 1)")

    @property
    def family_alpha(self) -> float:
        """α of one comparison (Bonferroni over the three families)."""
        return self.alpha / FAMILIES


def difference_cs(canary: tuple[float, float], baseline: tuple[float, float]) -> tuple[float, float]:
    """CS for canary − baseline from one CS per side (each at half the level's α)."""
    return canary[0] - baseline[1], canary[1] - baseline[0]


def _needed(n: int, interval: tuple[float, float], effect: float, floor: float) -> int | None:
    """Canary samples that would likely decide: the CS half-width shrinks about as 1/√n."""
    half = (interval[1] - interval[0]) / 2
    gap = abs(effect - floor)
    if not (math.isfinite(half) and gap > 0):
        return None
    return int(math.ceil(n * min((half / gap) ** 2 * 1.2, 1e6)))


def _sequential(effect: float, interval: tuple[float, float], floor: float, n: int,
                thin: str = "", min_samples: int = 0) -> tuple[Verdict, str, int | None]:
    """The three-way rule; with `thin` (too few samples on a side) a PASS waits, a FAIL does not."""
    verdict = decide(interval[0], interval[1], "lt", floor)
    lo, hi = interval
    if verdict is Verdict.FAIL:
        return verdict, f"the whole interval [{lo:+.4g}, {hi:+.4g}] is above the minimum effect", None
    if thin:
        return Verdict.INCONCLUSIVE, f"{thin}; the interval [{lo:+.4g}, {hi:+.4g}] does not prove a regression", min_samples
    if verdict is Verdict.PASS:
        return verdict, f"the whole interval [{lo:+.4g}, {hi:+.4g}] is below the minimum effect", None
    need = _needed(n, interval, effect, floor)
    more = f"; ~{need} canary samples would likely decide" if need else ""
    return verdict, f"keep collecting: the interval [{lo:+.4g}, {hi:+.4g}] straddles the minimum effect{more}", need


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


#: Below this many samples on a side nothing is computed at all.
_MIN_TO_COMPUTE = 10


def _thin_reason(n_base: int, n_canary: int, config: JudgeConfig) -> str:
    """Why a PASS must wait ('' when both sides have the minimum): a clear FAIL need not."""
    if n_base >= config.min_samples and n_canary >= config.min_samples:
        return ""
    return f"too few samples to pass: baseline {n_base}, canary {n_canary} (need {config.min_samples} each)"


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
        extra={"baseline_samples": n_base, "canary_samples": n_canary, "min_samples": config.min_samples, "thin": True},
        samples_needed=config.min_samples,
    )


def _quantile_comparison(name: str, b: np.ndarray, c: np.ndarray, q: float, floor_base: float,
                         cfg: JudgeConfig, label: str) -> Check:
    side_alpha, side_beta = cfg.family_alpha / 2, cfg.beta / 2
    base_q = float(np.percentile(b, q * 100, method="inverted_cdf"))
    canary_q = float(np.percentile(c, q * 100, method="inverted_cdf"))
    low = difference_cs(quantile_cs(c, q, side_alpha), quantile_cs(b, q, side_alpha))[0]
    high = difference_cs(quantile_cs(c, q, side_beta), quantile_cs(b, q, side_beta))[1]
    interval = (low, high)
    effect = canary_q - base_q
    floor = max(cfg.latency_min_relative * floor_base, cfg.latency_min_absolute_ms)
    thin = _thin_reason(len(b), len(c), cfg)
    verdict, why, need = _sequential(effect, interval, floor, len(c), thin, cfg.min_samples)
    relative = effect / base_q if base_q > 0 else math.nan
    return Check(
        name=name,
        verdict=verdict,
        value=effect,
        objective=floor,
        op="lt",
        unit="ms",
        samples=min(len(b), len(c)),
        scope="canary-vs-baseline",
        kind="comparison",
        detail=f"{label} {base_q:.1f} → {canary_q:.1f} ms ({effect:+.1f} ms, {relative:+.1%}) vs minimum effect {floor:.1f} ms: {why}",
        extra={
            "test": "quantile confidence sequences (beta-binomial), difference",
            "alpha": cfg.family_alpha,
            "beta": cfg.beta,
            "effect": effect,
            "effect_relative": relative if math.isfinite(relative) else None,
            "effect_ci": list(interval),
            f"baseline_{label}_ms": base_q,
            f"canary_{label}_ms": canary_q,
            "baseline_samples": len(b),
            "canary_samples": len(c),
            "thin": bool(thin),
            "leaning": "pass" if effect < floor else "fail",
        },
        interval=interval,
        confidence=1 - cfg.family_alpha,  # of the lower bound; the upper bound is at 1 - beta
        samples_needed=need,
    )


def compare_latency(baseline: np.ndarray, canary: np.ndarray, config: JudgeConfig | None = None) -> Check:
    """Shift of the whole latency distribution: CS on the difference of medians vs the minimum effect."""
    cfg = config or JudgeConfig()
    b, c = np.asarray(baseline, dtype=float), np.asarray(canary, dtype=float)
    if min(len(b), len(c)) < _MIN_TO_COMPUTE:
        return _thin("compare/latency", len(b), len(c), cfg, "ms")
    base_median = float(np.median(b))
    return _quantile_comparison("compare/latency", b, c, 0.5, base_median, cfg, "median")


def compare_latency_tail(baseline: np.ndarray, canary: np.ndarray, config: JudgeConfig | None = None) -> Check:
    """Tail regression: CS on the difference of the two p95s (a median test misses tail-only defects)."""
    cfg = config or JudgeConfig()
    b, c = np.asarray(baseline, dtype=float), np.asarray(canary, dtype=float)
    q = cfg.tail_quantile
    name = f"compare/latency-p{round(q * 100):d}"
    if min(len(b), len(c)) < _MIN_TO_COMPUTE:
        return _thin(name, len(b), len(c), cfg, "ms")
    base_q = float(np.percentile(b, q * 100, method="inverted_cdf"))
    return _quantile_comparison(name, b, c, q, base_q, cfg, f"p{round(q * 100)}")


#: Prior mean of the error-ratio sequences (a tuning choice: tightest near a 1 % error ratio).
ERROR_PRIOR_MEAN = 0.01


def compare_errors(
    baseline_errors: int, baseline_total: int, canary_errors: int, canary_total: int, config: JudgeConfig | None = None
) -> Check:
    """Difference in error ratio: CS from one beta-binomial CS per side, vs the minimum increase."""
    cfg = config or JudgeConfig()
    name = "compare/errors"
    if min(baseline_total, canary_total) < _MIN_TO_COMPUTE:
        return _thin(name, baseline_total, canary_total, cfg, "ratio")
    a, b = prior(ERROR_PRIOR_MEAN)
    counts, totals = [canary_errors, baseline_errors], [canary_total, baseline_total]
    fail_lo, fail_hi = proportion_cs(counts, totals, cfg.family_alpha / 2, a, b)  # [canary, baseline]
    pass_lo, pass_hi = proportion_cs(counts, totals, cfg.beta / 2, a, b)
    interval = (float(fail_lo[0] - fail_hi[1]), float(pass_hi[0] - pass_lo[1]))
    base_ratio, canary_ratio = baseline_errors / baseline_total, canary_errors / canary_total
    increase = canary_ratio - base_ratio
    thin = _thin_reason(baseline_total, canary_total, cfg)
    verdict, why, need = _sequential(increase, interval, cfg.error_min_increase, canary_total, thin, cfg.min_samples)
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
            f"vs minimum effect {cfg.error_min_increase * 100:.2f} pp: {why}"
        ),
        extra={
            "test": "proportion confidence sequences (beta-binomial), difference",
            "alpha": cfg.family_alpha,
            "beta": cfg.beta,
            "effect": increase,
            "effect_ci": list(interval),
            "baseline_error_ratio": base_ratio,
            "canary_error_ratio": canary_ratio,
            "baseline_errors": baseline_errors,
            "canary_errors": canary_errors,
            "baseline_samples": baseline_total,
            "canary_samples": canary_total,
            "thin": bool(thin),
            "leaning": "pass" if increase < cfg.error_min_increase else "fail",
        },
        interval=interval,
        confidence=1 - cfg.family_alpha,  # of the lower bound; the upper bound is at 1 - beta
        samples_needed=need,
    )


def judge_samples(
    samples: pd.DataFrame,
    config: JudgeConfig | None = None,
    *,
    reference: pd.DataFrame | None = None,
    full_weight: bool = False,
) -> list[Check]:
    """Every comparison of one stage's samples (the `harness.samples` columns).

    A 100 % stage (`full_weight`) gets none: no baseline traffic of the service
    under rollout is left (rows that remain were answered elsewhere, e.g.
    rejected by the edge), and an earlier stage's baseline differs in time and
    in the share of traffic each instance carried, not only in code — healthy
    canaries failed `compare/latency` that way (9.5 → 18.3 ms median). The
    stage is judged on its absolute SLOs; the comparisons were made at the
    partial stages. Where a partial stage has too little baseline, `reference`
    (an earlier stage's samples) supplies it, with scope
    `canary-vs-earlier-baseline`.
    """
    cfg = config or JudgeConfig()
    if full_weight:
        return []
    canary = samples[samples["revision"] == cfg.canary_revision]
    names = set(canary["name"]) if cfg.same_requests_only and len(canary) else None

    def baseline_of(frame: pd.DataFrame) -> pd.DataFrame:
        rows = frame[frame["revision"] == cfg.baseline_revision]
        return rows[rows["name"].isin(names)] if names is not None else rows

    baseline = baseline_of(samples)
    scope = "canary-vs-baseline"
    if len(baseline) < cfg.min_samples and reference is not None and len(reference):
        baseline = baseline_of(reference)
        scope = "canary-vs-earlier-baseline"
    ok_b = baseline["ok"].astype(bool)
    ok_c = canary["ok"].astype(bool)
    lat_rows_b = baseline.loc[ok_b] if cfg.latency_ok_only else baseline
    lat_rows_c = canary.loc[ok_c] if cfg.latency_ok_only else canary
    matched = ""
    if not cfg.shared_cache:
        lat_rows_b, matched = _matched_to(lat_rows_b, lat_rows_c, cfg.min_samples)
    lat_b_arr = lat_rows_b[cfg.latency_column].dropna().to_numpy(float)
    lat_c_arr = lat_rows_c[cfg.latency_column].dropna().to_numpy(float)
    latency = [compare_latency(lat_b_arr, lat_c_arr, cfg), compare_latency_tail(lat_b_arr, lat_c_arr, cfg)]
    if matched:
        latency = [replace(c, detail=f"{c.detail} ({matched})", extra={**c.extra, "matched_on": list(_STRATA)})
                   for c in latency]
    checks = [*latency, compare_errors(int((~ok_b).sum()), len(baseline), int((~ok_c).sum()), len(canary), cfg)]
    return [replace(c, scope=scope) for c in checks]


#: How a request was answered: the strata latency is matched on when caches are private.
_STRATA = ("cache", "tier")


def _matched_to(baseline: pd.DataFrame, canary: pd.DataFrame, min_samples: int) -> tuple[pd.DataFrame, str]:
    """The baseline subsampled to the canary's mix of cache outcome × tier, and a note ('' if not done).

    Each stratum keeps its earliest rows, as many as the canary's share of it
    times the largest total every stratum can supply; a stratum the baseline
    lacks, or a match smaller than `min_samples`, leaves the baseline whole.
    """
    if not set(_STRATA) <= set(canary.columns) or not set(_STRATA) <= set(baseline.columns) or canary.empty:
        return baseline, ""
    if not (canary["cache"].astype(str) != "").any():
        return baseline, ""
    key_c = canary["cache"].astype(str) + "/" + canary["tier"].astype(str)
    key_b = baseline["cache"].astype(str) + "/" + baseline["tier"].astype(str)
    share = key_c.value_counts(normalize=True)
    have = key_b.value_counts()
    if not set(share.index) <= set(have.index):
        return baseline, ""
    total = float(min(have[k] / share[k] for k in share.index))
    if total < min_samples:
        return baseline, ""
    order = baseline.sort_values("ts").index if "ts" in baseline else baseline.index
    ranked = key_b.loc[order].groupby(key_b.loc[order]).cumcount()
    quota = key_b.map((share * total).astype(int)).fillna(0)
    keep = ranked < quota.loc[order]
    chosen = baseline.loc[keep[keep].index]
    mix = ", ".join(f"{k} {v:.0%}" for k, v in share.items())
    return chosen, f"like with like: baseline matched to the canary's cache × tier mix ({mix}), {len(chosen)} rows"
