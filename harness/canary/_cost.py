"""Cost model: model calls, cache lookups and requests → cost per million requests.

The review's point is cost, so a canary that serves the same traffic with more
(or pricier) model calls — say its cache stopped hitting — must not promote.
Counters come from each revision's Prometheus `/metrics`, scraped before and
after a stage; the difference is priced with `harness/data/prices.yaml`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families
from scipy import stats

from harness._exceptions import ConfigError, ServiceUnreachable
from harness._verdicts import Check, Verdict

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
        text = resources.files("harness").joinpath("data/prices.yaml").read_text()
        source = "harness/data/prices.yaml"
    else:
        source = str(path)
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read ({exc.strerror})", source=source) from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"not YAML ({exc.__class__.__name__})", source=source) from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("model_call"), dict):
        raise ConfigError("needs a mapping `model_call: {tier: price}`", source=source, field="model_call")

    def number(value: Any, name: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
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
    alpha: float = 0.01
    """One-sided significance level (normal approximation, Poisson call counts)."""
    suggestive_p: float = 0.01
    """An increase of `suggestive_factor` × the allowed one with alpha ≤ p < this is
    INCONCLUSIVE. Off by default (= alpha): cost per request is dominated by rare
    large-tier calls (60× a small one), so on a healthy canary "2 vs 7 large calls"
    is common chance that would block most rollouts; a broken cache or a routing
    shift to pricier tiers moves hundreds of calls and is significant anyway."""
    suggestive_factor: float = 2.0


def compare_cost(baseline: CostEstimate, canary: CostEstimate, config: CostConfig | None = None) -> Check:
    """The cost SLO: canary cost per request vs baseline's, as a relative increase."""
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
