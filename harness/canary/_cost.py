"""Cost model: what each request cost, canary against baseline, like with like.

The review's point is cost, so a canary that serves the same traffic with
pricier model calls must not promote — but neither may a healthy canary be
rolled back because its cache started cold (the issue's +107 %).

Every routed response says what it cost: `x-xynergy-tier` (the tier the
code chose for the prompt, on hits too) and `x-xynergy-cache` (`hit`,
`miss`, `dedup`), recorded per sample in the `tier` and `cache` columns.
`judge_cost` prices each request with `harness/data/prices.yaml` (a miss
costs its tier's call and the lookup; a hit or a dedup join the lookup) and
separates two things:

- the **code's decision**, the tier chosen per request: judged always, as
  the cost each request would have at the *same* cache state (tier price
  over every routed request of the names the canary served);
- the **cache state**, the hit ratio: judged only where both revisions share
  one cache (`CostConfig.shared_cache`); then the actual per-request cost is
  judged too. A cold private cache is never blamed on the canary's code.

Both comparisons are anytime-valid confidence sequences for bounded means
(empirical Bernstein, `harness.stats.bounded_mean_cs`) turned into a CS for
the ratio of means: FAIL when the whole CS is above the allowed increase,
PASS when it is below, else keep collecting. Call counts are not Poisson
(one prompt's tier and cache state decide many calls), so nothing here
assumes they are. Samples without the two columns (older plugins) fall back
to the `/metrics` counters (`compare_cost`), which stay as the cross-check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
from prometheus_client.parser import text_string_to_metric_families
from scipy import stats

from harness._config import load_yaml
from harness._exceptions import ConfigError, ServiceUnreachable
from harness._verdicts import Check, Verdict
from harness.stats import COST_ALPHA, bounded_mean_cs, decide, prior, proportion_cs

__all__ = [
    "PriceTable",
    "Usage",
    "CostEstimate",
    "CostConfig",
    "load_prices",
    "parse_usage",
    "scrape_usage",
    "estimate_cost",
    "compare_cost",
    "price_samples",
    "has_cost_columns",
    "judge_cost",
]

_NOT_SERVED = {"/metrics", "/healthz", "/readyz"}


@dataclass(frozen=True)
class PriceTable:
    """Prices per unit; `model_call` is keyed by tier, `default` prices the rest."""

    currency: str
    model_call: dict[str, float]
    cache_lookup: float = 0.0
    request: float = 0.0

    def call_price(self, tier: str) -> float | None:
        return self.model_call.get(tier, self.model_call.get("default"))


def load_prices(path: str | Path | None = None) -> PriceTable:
    """Load a price table (default: the packaged `harness/data/prices.yaml`)."""
    if path is None:
        path = Path(str(resources.files("harness").joinpath("data/prices.yaml")))
    source = str(path)
    raw = load_yaml(path, error=ConfigError)
    if not isinstance(raw, dict) or not isinstance(raw.get("model_call"), dict):
        raise ConfigError("needs a mapping `model_call: {tier: price}`", source=source, field="model_call")

    def number(value: Any, name: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ConfigError(f"must be a non-negative number, got {value!r}", source=source, field=name)
        return float(value)

    return PriceTable(
        currency=str(raw.get("currency", "USD")),
        model_call={str(k): number(v, f"model_call.{k}") for k, v in raw["model_call"].items()},
        cache_lookup=number(raw.get("cache_lookup", 0.0), "cache_lookup"),
        request=number(raw.get("request", 0.0), "request"),
    )


@dataclass(frozen=True)
class Usage:
    """Counter totals read from one `/metrics` page (or the delta of two)."""

    model_calls: dict[str, float] = field(default_factory=dict)
    cache_hits: float = 0.0
    cache_misses: float = 0.0
    requests: float = 0.0

    def __sub__(self, before: Usage) -> Usage:
        """Delta `after - before`; a counter that went down was reset, so take `after`."""

        def delta(a: float, b: float) -> float:
            return a - b if a >= b else a

        tiers = set(self.model_calls) | set(before.model_calls)
        return Usage(
            model_calls={t: delta(self.model_calls.get(t, 0.0), before.model_calls.get(t, 0.0)) for t in sorted(tiers)},
            cache_hits=delta(self.cache_hits, before.cache_hits),
            cache_misses=delta(self.cache_misses, before.cache_misses),
            requests=delta(self.requests, before.requests),
        )

    def __add__(self, other: Usage) -> Usage:
        tiers = set(self.model_calls) | set(other.model_calls)
        return Usage(
            model_calls={t: self.model_calls.get(t, 0.0) + other.model_calls.get(t, 0.0) for t in sorted(tiers)},
            cache_hits=self.cache_hits + other.cache_hits,
            cache_misses=self.cache_misses + other.cache_misses,
            requests=self.requests + other.requests,
        )


def parse_usage(text: str) -> Usage:
    """Read the cost-relevant counters from Prometheus text exposition format."""
    calls: dict[str, float] = {}
    hits = misses = requests = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels, value = sample.labels, float(sample.value)
            if sample.name == "xynergy_model_calls_total":
                tier = labels.get("tier", "default")
                calls[tier] = calls.get(tier, 0.0) + value
            elif sample.name == "xynergy_cache_lookups_total":
                if labels.get("result") == "hit":
                    hits += value
                elif labels.get("result") == "miss":
                    misses += value
            elif sample.name == "xynergy_http_requests_total" and labels.get("route", "") not in _NOT_SERVED:
                requests += value
    return Usage(model_calls=dict(sorted(calls.items())), cache_hits=hits, cache_misses=misses, requests=requests)


def scrape_usage(url: str, timeout: float = 5.0) -> Usage:
    """GET a service's `/metrics` and parse it."""
    try:
        response = httpx.get(url, timeout=timeout)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise ServiceUnreachable(f"cannot scrape {url}: {exc}") from exc
    return parse_usage(response.text)


@dataclass(frozen=True)
class CostEstimate:
    """One revision's usage over a stage, priced."""

    revision: str
    usage: Usage
    cost: float
    """Total projected cost of the stage's usage."""
    currency: str = "USD"
    unpriced_tiers: tuple[str, ...] = ()
    variance: float = 0.0
    """Variance of `cost` treating each tier's call count as Poisson (Σ price² · calls)."""

    @property
    def requests(self) -> float:
        return self.usage.requests

    @property
    def cost_per_million(self) -> float | None:
        return self.cost / self.usage.requests * 1e6 if self.usage.requests > 0 else None

    @property
    def cache_hit_ratio(self) -> float | None:
        lookups = self.usage.cache_hits + self.usage.cache_misses
        return self.usage.cache_hits / lookups if lookups > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "requests": self.usage.requests,
            "model_calls": dict(self.usage.model_calls),
            "cache_hits": self.usage.cache_hits,
            "cache_misses": self.usage.cache_misses,
            "cache_hit_ratio": self.cache_hit_ratio,
            "cost": self.cost,
            "cost_per_million": self.cost_per_million,
            "currency": self.currency,
            "unpriced_tiers": list(self.unpriced_tiers),
            "variance": self.variance,
        }


def estimate_cost(usage: Usage, prices: PriceTable, revision: str) -> CostEstimate:
    """Price `usage`; tiers with no price (and no `default`) are listed, not guessed."""
    unpriced: list[str] = []
    cost = usage.requests * prices.request + (usage.cache_hits + usage.cache_misses) * prices.cache_lookup
    variance = 0.0
    for tier, calls in usage.model_calls.items():
        price = prices.call_price(tier)
        if price is None:
            if calls > 0:
                unpriced.append(tier)
            continue
        cost += calls * price
        variance += calls * price * price
    return CostEstimate(revision, usage, cost, prices.currency, tuple(unpriced), variance)


@dataclass(frozen=True)
class CostConfig:
    """Cost policy: the canary may cost at most `max_increase` more per request.

    As with the latency judge, the increase is the effect and must also be
    significant to FAIL: model calls are counted, so a few hundred requests
    that happen to include two more large-tier calls are noise, not a verdict.
    """

    max_increase: float = 0.10
    """Relative increase of cost per request allowed (0.10 = +10 %)."""
    min_requests: int = 50
    """Fewer requests on either revision → INCONCLUSIVE."""
    alpha: float = COST_ALPHA
    """False-FAIL budget of the cost checks of a stage (split across them), however often judged."""
    beta: float = 0.10
    """Risk of PASSing an increase exactly at `max_increase` (the PASS side of the interval)."""
    shared_cache: bool | None = None
    """Both revisions use one cache (the shared Redis): then the hit ratio and the actual
    cost per request are comparable and judged. None/False: cache state is not judged."""
    max_hit_ratio_drop: float = 0.05
    """With a shared cache: the canary's hit ratio may be at most this much lower (5 pp)."""
    suggestive_p: float = 0.01
    """An increase of `suggestive_factor` × the allowed one with alpha ≤ p < this is
    INCONCLUSIVE. Off by default (= alpha): cost per request is dominated by rare
    large-tier calls (60× a small one), so on a healthy canary "2 vs 7 large calls"
    is common chance that would block most rollouts; a broken cache or a routing
    shift to pricier tiers moves hundreds of calls and is significant anyway."""
    suggestive_factor: float = 2.0


def compare_cost(baseline: CostEstimate, canary: CostEstimate, config: CostConfig | None = None) -> Check:
    """Cost per request from the `/metrics` counters: the fallback and cross-check.

    Counters mix the code's decision with cache state and give no per-request
    spread, so this FAILs only when `config.shared_cache` says the caches are
    comparable; otherwise a large increase is INCONCLUSIVE. Prefer `judge_cost`
    on samples with `cache`/`tier` columns.
    """
    cfg = config or CostConfig()
    extra: dict[str, Any] = {"baseline": baseline.to_dict(), "canary": canary.to_dict()}
    samples = int(min(baseline.requests, canary.requests))
    common = dict(objective=cfg.max_increase, op="lte", unit="ratio", samples=samples, scope="canary-vs-baseline", kind="cost")
    name = "cost/per-request"
    if baseline.requests < cfg.min_requests or canary.requests < cfg.min_requests:
        detail = f"too few requests: baseline {baseline.requests:.0f}, canary {canary.requests:.0f} (need {cfg.min_requests})"
        return Check(name, Verdict.INCONCLUSIVE, None, detail=detail, extra=extra, **common)  # type: ignore[arg-type]
    if baseline.unpriced_tiers or canary.unpriced_tiers:
        tiers = sorted(set(baseline.unpriced_tiers) | set(canary.unpriced_tiers))
        detail = f"no price for model tier(s) {', '.join(tiers)} in the price table"
        return Check(name, Verdict.INCONCLUSIVE, None, detail=detail, extra=extra, **common)  # type: ignore[arg-type]
    base, can = baseline.cost_per_million or 0.0, canary.cost_per_million or 0.0
    if base > 0:
        increase = can / base - 1.0
    else:
        increase = 0.0 if can == 0 else math.inf
    # per-request cost difference over its standard error (Poisson call counts)
    se = math.sqrt(canary.variance / canary.requests**2 + baseline.variance / baseline.requests**2)
    diff = canary.cost / canary.requests - baseline.cost / baseline.requests
    p_value = float(stats.norm.sf(diff / se)) if se > 0 else (0.0 if diff > 0 else 1.0)
    if increase <= cfg.max_increase:
        verdict, why = Verdict.PASS, "within the allowed increase"
    elif p_value < cfg.alpha and not cfg.shared_cache:
        verdict, why = Verdict.INCONCLUSIVE, (
            f"significant (p={p_value:.2g}), but the revisions' caches are not shared, so cache state "
            "(a cold cache) cannot be told from the code's tier choice: per-sample cache/tier columns needed")
    elif p_value < cfg.alpha:
        verdict, why = Verdict.FAIL, f"significant (p={p_value:.2g} < {cfg.alpha})"
    elif p_value < cfg.suggestive_p and increase >= cfg.suggestive_factor * cfg.max_increase:
        verdict, why = Verdict.INCONCLUSIVE, f"not significant (p={p_value:.2g}): more data needed"
    else:
        verdict, why = Verdict.PASS, f"not distinguishable from noise (p={p_value:.2g})"
    detail = (
        f"cost per million requests {base:.2f} → {can:.2f} {canary.currency} "
        f"({increase:+.1%}, allowed +{cfg.max_increase:.0%}): {why}"
    )
    value = increase if math.isfinite(increase) else None
    extra.update(effect=value, p_value=p_value, alpha=cfg.alpha, test="z-test, Poisson call counts")
    return Check(name, verdict, value, detail=detail, extra=extra, **common)  # type: ignore[arg-type]


#: Values of the `cache` column that served from cache (a lookup, no model call).
_SERVED_FROM_CACHE = ("hit", "dedup")


def has_cost_columns(samples: pd.DataFrame) -> bool:
    """True when the samples say per request which tier was chosen (the plugin's `tier` column)."""
    return "tier" in samples.columns and bool((samples["tier"].astype(str) != "").any())


def price_samples(samples: pd.DataFrame, prices: PriceTable) -> tuple[np.ndarray, np.ndarray]:
    """(actual cost, decision cost) of every row, in the price table's currency.

    Actual: request price, plus a lookup where the cache was consulted, plus
    the tier's call price on a miss (or with no cache at all). Decision: the
    request price plus the chosen tier's call price, as if every request
    missed — the cost of the code's choice at equal cache state. Rows without
    a tier (routes that never call a model) cost the request price in both.
    """
    tier = samples["tier"].astype(str).to_numpy() if "tier" in samples else np.full(len(samples), "")
    cache = samples["cache"].astype(str).to_numpy() if "cache" in samples else np.full(len(samples), "")
    unique, index = np.unique(tier, return_inverse=True)
    table = np.array([(prices.call_price(str(t)) if t else 0.0) for t in unique], dtype=object)
    call = np.array([np.nan if v is None else float(v) for v in table], dtype=float)[index]
    routed = tier != ""
    from_cache = np.isin(cache, _SERVED_FROM_CACHE)
    consulted = from_cache | (cache == "miss")
    actual = prices.request + np.where(consulted, prices.cache_lookup, 0.0) + np.where(routed & ~from_cache, call, 0.0)
    decision = prices.request + np.where(routed, call, 0.0)
    return actual, decision


def _ratio_check(name: str, base: np.ndarray, can: np.ndarray, upper: float, alpha: float, cfg: CostConfig,
                 what: str, currency: str, extra: dict[str, Any]) -> Check:
    """CS for mean(canary) / mean(baseline) − 1 from one bounded-mean CS per side."""
    lo_c, _ = bounded_mean_cs(can, alpha / 2, upper)
    _, hi_b = bounded_mean_cs(base, alpha / 2, upper)
    _, hi_c_pass = bounded_mean_cs(can, cfg.beta / 2, upper)
    lo_b_pass, _ = bounded_mean_cs(base, cfg.beta / 2, upper)
    low = lo_c / hi_b - 1.0 if hi_b > 0 else -1.0
    high = hi_c_pass / lo_b_pass - 1.0 if lo_b_pass > 0 else math.inf
    mean_b, mean_c = float(np.mean(base)), float(np.mean(can))
    increase = mean_c / mean_b - 1.0 if mean_b > 0 else (0.0 if mean_c == 0 else math.inf)
    verdict = decide(low, high, "lte", cfg.max_increase)
    interval = f"[{low:+.1%}, {'+inf' if not math.isfinite(high) else f'{high:+.1%}'}]"
    needed = None
    if verdict is Verdict.FAIL:
        why = f"the whole interval {interval} is above the allowed increase"
    elif verdict is Verdict.PASS:
        why = f"the whole interval {interval} is below the allowed increase"
    else:
        half = (high - low) / 2 if math.isfinite(high) else math.inf
        gap = abs(increase - cfg.max_increase)
        if math.isfinite(half) and gap > 0:
            needed = int(math.ceil(len(can) * min((half / gap) ** 2 * 1.2, 1e6)))
        more = f"; ~{needed} canary requests would likely decide" if needed else ""
        why = f"keep collecting: the interval {interval} straddles the allowed increase{more}"
    detail = (f"{what}: {mean_b * 1e6:.2f} → {mean_c * 1e6:.2f} {currency} per million requests "
              f"({increase:+.1%}, allowed +{cfg.max_increase:.0%}): {why}")
    extra = {**extra, "effect": increase if math.isfinite(increase) else None, "effect_ci": [low, high],
             "alpha": alpha, "beta": cfg.beta, "test": "empirical-Bernstein confidence sequences, ratio of means",
             "baseline_mean": mean_b, "canary_mean": mean_c, "baseline_samples": len(base), "canary_samples": len(can),
             "leaning": "fail" if increase > cfg.max_increase else "pass"}
    return Check(name, verdict, increase if math.isfinite(increase) else None, cfg.max_increase, "lte", unit="ratio",
                 samples=int(min(len(base), len(can))), scope="canary-vs-baseline", kind="cost", detail=detail,
                 extra=extra, interval=(low, high), confidence=1 - alpha, samples_needed=needed)


def _hit_ratio_check(base_hits: int, base_n: int, can_hits: int, can_n: int, alpha: float, cfg: CostConfig) -> Check:
    """Shared cache only: the canary's hit ratio may not drop by more than `max_hit_ratio_drop`."""
    a, b = prior(0.5)
    counts, totals = [base_hits, can_hits], [base_n, can_n]
    fail_lo, fail_hi = proportion_cs(counts, totals, alpha / 2, a, b)
    pass_lo, pass_hi = proportion_cs(counts, totals, cfg.beta / 2, a, b)
    drop_low = float(fail_lo[0] - fail_hi[1])  # baseline − canary, lower bound
    drop_high = float(pass_hi[0] - pass_lo[1])
    rb, rc = base_hits / base_n, can_hits / can_n
    verdict = decide(drop_low, drop_high, "lte", cfg.max_hit_ratio_drop)
    state = {Verdict.FAIL: "the whole interval is above the allowed drop", Verdict.PASS: "the whole interval is below the allowed drop",
             Verdict.INCONCLUSIVE: "keep collecting: the interval straddles the allowed drop"}[verdict]
    return Check("cost/cache-hit-ratio", verdict, rb - rc, cfg.max_hit_ratio_drop, "lte", unit="ratio",
                 samples=min(base_n, can_n), scope="canary-vs-baseline", kind="cost",
                 detail=(f"hit ratio (hits and dedup joins) {rb:.1%} → {rc:.1%} on a shared cache, drop "
                         f"[{drop_low * 100:+.1f}, {drop_high * 100:+.1f}] pp vs {cfg.max_hit_ratio_drop * 100:.0f} pp allowed: {state}"),
                 extra={"baseline_hit_ratio": rb, "canary_hit_ratio": rc, "alpha": alpha, "beta": cfg.beta,
                        "test": "proportion confidence sequences (beta-binomial), difference"},
                 interval=(drop_low, drop_high), confidence=1 - alpha)  # fmt: skip


def judge_cost(
    samples: pd.DataFrame,
    prices: PriceTable,
    config: CostConfig | None = None,
    *,
    baseline_revision: str = "baseline",
    canary_revision: str = "canary",
    baseline_usage: CostEstimate | None = None,
    canary_usage: CostEstimate | None = None,
) -> list[Check]:
    """Cost checks of one stage's judged (post-warm-up) samples; see the module docstring.

    `cost/per-request` always (the code's tier choice at equal cache state;
    with a shared cache the actual cost per request), `cost/cache-hit-ratio`
    with a shared cache. The `/metrics` estimates, when given, ride along as
    the cross-check; without `tier` columns they are the fallback verdict.
    """
    cfg = config or CostConfig()
    if not has_cost_columns(samples):
        if baseline_usage is not None and canary_usage is not None:
            check = compare_cost(baseline_usage, canary_usage, cfg)
            note = "samples carry no cache/tier columns (older plugin): judged from /metrics counters"
            return [_with_detail(check, note)]
        return [Check("cost/per-request", Verdict.INCONCLUSIVE, None, cfg.max_increase, "lte", unit="ratio",
                      scope="canary-vs-baseline", kind="cost",
                      detail="no per-request cost: samples carry no cache/tier columns and no /metrics usage was scraped")]
    canary = samples[samples["revision"] == canary_revision]
    names = set(canary["name"])
    base = samples[(samples["revision"] == baseline_revision) & samples["name"].isin(names)]
    base, canary = base[base["tier"].astype(str) != ""], canary[canary["tier"].astype(str) != ""]
    if len(base) < cfg.min_requests or len(canary) < cfg.min_requests:
        return [Check("cost/per-request", Verdict.INCONCLUSIVE, None, cfg.max_increase, "lte", unit="ratio",
                      samples=int(min(len(base), len(canary))), scope="canary-vs-baseline", kind="cost",
                      detail=f"too few routed requests: baseline {len(base)}, canary {len(canary)} (need {cfg.min_requests})",
                      samples_needed=cfg.min_requests)]
    unknown = sorted({t for t in pd.concat([base["tier"], canary["tier"]]).astype(str) if prices.call_price(t) is None})
    if unknown:
        return [Check("cost/per-request", Verdict.INCONCLUSIVE, None, cfg.max_increase, "lte", unit="ratio",
                      scope="canary-vs-baseline", kind="cost",
                      detail=f"no price for model tier(s) {', '.join(unknown)} in the price table")]
    actual_b, decision_b = price_samples(base, prices)
    actual_c, decision_c = price_samples(canary, prices)
    upper = prices.request + prices.cache_lookup + max(prices.model_call.values(), default=0.0)
    hit_b = int(np.isin(base["cache"].astype(str), _SERVED_FROM_CACHE).sum()) if "cache" in base else 0
    hit_c = int(np.isin(canary["cache"].astype(str), _SERVED_FROM_CACHE).sum()) if "cache" in canary else 0
    extra: dict[str, Any] = {
        "shared_cache": cfg.shared_cache,
        "baseline_hit_ratio": hit_b / len(base), "canary_hit_ratio": hit_c / len(canary),
        "baseline_actual_per_million": float(np.mean(actual_b)) * 1e6,
        "canary_actual_per_million": float(np.mean(actual_c)) * 1e6,
        "currency": prices.currency,
    }
    if baseline_usage is not None and canary_usage is not None:
        extra["metrics_cross_check"] = {"baseline": baseline_usage.to_dict(), "canary": canary_usage.to_dict()}
    checks: list[Check] = []
    # The code's decision (the tier each routed request was given, priced whatever the cache
    # did) is judged always. Actual cost is that decision times the cache's misses: with a shared
    # cache the hit ratio is judged as a check of its own, never folded into a cost whose
    # spread (a hit costs nothing, a miss a model call) would take hours of canary traffic to decide.
    shared = bool(cfg.shared_cache)
    alpha = cfg.alpha / 2 if shared else cfg.alpha
    state = "" if shared else f"; hit ratio {hit_b / len(base):.0%} → {hit_c / len(canary):.0%} not judged: the caches are not shared"
    what = f"cost per request at equal cache state (the code's tier choice{state})"
    checks.append(_ratio_check("cost/per-request", decision_b, decision_c, upper, alpha, cfg, what, prices.currency, extra))
    if shared:
        checks.append(_hit_ratio_check(hit_b, len(base), hit_c, len(canary), alpha, cfg))
    return checks


def _with_detail(check: Check, note: str) -> Check:
    from dataclasses import replace

    return replace(check, detail=f"{check.detail} ({note})", extra={**check.extra, "source": "metrics"})
