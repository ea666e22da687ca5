"""Building blocks of ai-routing-engine: complexity, cache, dedup, circuit breaker."""

from __future__ import annotations

from xynergy.routing.breaker import BreakerState, CircuitBreaker
from xynergy.routing.cache import LocalCache, RedisCache, ResponseCache, cache_key, normalize_prompt
from xynergy.routing.complexity import score_complexity, tier_for
from xynergy.routing.singleflight import FlightAbandoned, SingleFlight

__all__ = [
    "BreakerState",
    "CircuitBreaker",
    "FlightAbandoned",
    "LocalCache",
    "RedisCache",
    "ResponseCache",
    "SingleFlight",
    "cache_key",
    "normalize_prompt",
    "score_complexity",
    "tier_for",
]
