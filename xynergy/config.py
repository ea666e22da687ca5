"""Typed configuration of one service process, validated before anything starts."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from xynergy.defects import Defects

__all__ = [
    "ServiceConfig",
    "ConfigurationError",
    "SERVICES",
    "UPSTREAMS",
    "API_KEYS_ENV",
    "load_api_keys",
    "validate_config",
    "CANARY_SERVICES",
]

API_KEYS_ENV = "XYNERGY_API_KEYS"

SERVICES = ("edge", "security-governance", "ai-routing-engine", "internal-ai-service", "system-runtime")
"""The services ``python -m xynergy SERVICE`` can run."""

UPSTREAMS: dict[str, tuple[str, ...]] = {
    "edge": (
        "ai-routing-engine",
        "ai-routing-engine@canary",
        "security-governance",
        "security-governance@canary",
        "system-runtime",
        "system-runtime@canary",
    ),
    "ai-routing-engine": ("internal-ai.primary", "internal-ai.backup"),
}
"""Upstream names each service accepts with ``--upstream NAME=URL``."""

CANARY_SERVICES = ("ai-routing-engine", "security-governance", "system-runtime")


class ConfigurationError(ValueError):
    """A service configuration is unusable; the message names the flag or variable."""


@dataclass(frozen=True)
class ServiceConfig:
    """Everything one service process needs; built by the CLI or by tests.

    Tuning fields have defaults that meet the platform SLOs on a small machine;
    tests shorten the timing ones (breaker backoff, status interval).
    """

    service: str
    api_keys: tuple[str, ...]
    """Plaintext keys; hashed when the app is built and never stored in clear."""
    host: str = "127.0.0.1"
    port: int = 8000
    revision: str = "baseline"
    region: str = "local"
    defects: Defects = field(default_factory=Defects)
    upstreams: Mapping[str, str] = field(default_factory=dict)
    redis_url: str | None = None
    canary_weights: Mapping[str, int] = field(default_factory=dict)
    max_concurrency: int = 50
    """Requests in flight per process before 503 + Retry-After (Cloud Run concurrency)."""
    request_timeout_s: float = 30.0
    memory_budget_bytes: int = 512 * 1024**2
    max_body_bytes: int = 2 * 1024**2
    """Largest request body (413 beyond): governance's 200 000-char content, JSON-escaped, fits."""
    body_timeout_s: float = 10.0
    """The whole body must arrive within this (408), before the request takes an in-flight slot."""
    max_header_bytes: int = 64 * 1024
    """Request line plus headers (431 beyond)."""
    header_timeout_s: float = 10.0
    """A request head must be complete this long after it starts (408)."""
    access_log: bool = False
    """One JSON log line per request (off by default: it costs CPU at high rates)."""
    # ai-routing-engine
    upstream_timeout_s: float = 1.0
    """Per-call timeout to an AI region: ~30x a healthy answer, and the failover cost before the breaker opens."""
    cache_ttl_s: float = 300.0
    cache_max_entries: int = 10_000
    breaker_failure_rate: float = 0.5
    """Share of failed calls in the window that opens a region's breaker."""
    breaker_window_s: float = 3.0
    """How far back the breaker counts outcomes: long enough that a revision with a tenth
    of 20 req/s ends ``breaker_min_calls`` calls in it beside a 1 s upstream timeout."""
    breaker_min_calls: int = 3
    """Calls that must have ended in the window before its failure rate counts."""
    breaker_base_backoff_s: float = 1.0
    breaker_max_backoff_s: float = 30.0
    # edge
    auth_cache_ttl_s: float = 5.0
    auth_stale_s: float = 60.0
    """A key governance accepted this recently stays accepted while it is re-checked, or while governance is down."""
    # internal-ai-service
    tier_latency_ms: Mapping[str, float] = field(
        default_factory=lambda: {"small": 4.0, "medium": 10.0, "large": 22.0}
    )
    model_registry_size: int = 16
    # system-runtime
    status_interval_s: float = 0.5
    transports: Mapping[str, httpx.AsyncBaseTransport] = field(default_factory=dict)
    """Per-upstream transport override (tests drive upstream apps in-process)."""


def load_api_keys(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Read ``XYNERGY_API_KEYS`` (comma-separated); raise if none are set."""
    raw = (os.environ if env is None else env).get(API_KEYS_ENV, "")
    keys = tuple(k.strip() for k in raw.split(",") if k.strip())
    if not keys:
        raise ConfigurationError(f"{API_KEYS_ENV} is empty: set at least one API key (comma-separated)")
    return keys


def _check_url(flag: str, url: str, schemes: tuple[str, ...]) -> None:
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.hostname:
        raise ConfigurationError(f"{flag}: expected a {'/'.join(schemes)} URL, got {url!r}")
    try:
        parts.port
    except ValueError:
        raise ConfigurationError(f"{flag}: bad port in {url!r}") from None


def validate_config(config: ServiceConfig) -> None:
    """Raise ``ConfigurationError`` naming the first unusable setting."""
    if config.service not in SERVICES:
        raise ConfigurationError(f"unknown service {config.service!r} (choose from {', '.join(SERVICES)})")
    if not 0 <= config.port <= 65535:
        raise ConfigurationError(f"--port: must be 0..65535, got {config.port}")
    if not config.api_keys:
        raise ConfigurationError(f"{API_KEYS_ENV} is empty: set at least one API key (comma-separated)")
    if not config.revision or not config.revision.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise ConfigurationError(f"--revision: letters, digits, '-', '_' or '.' only, got {config.revision!r}")
    allowed = UPSTREAMS.get(config.service, ())
    for name, url in config.upstreams.items():
        if name not in allowed:
            known = ", ".join(allowed) or "none"
            raise ConfigurationError(f"--upstream: {config.service} has no upstream {name!r} (known: {known})")
        _check_url(f"--upstream {name}", url, ("http",))
    if config.service == "ai-routing-engine" and "internal-ai.primary" not in config.upstreams:
        raise ConfigurationError("--upstream: ai-routing-engine needs internal-ai.primary=URL")
    if config.redis_url is not None:
        _check_url("--redis-url", config.redis_url, ("redis",))
    for name, pct in config.canary_weights.items():
        if config.service != "edge":
            raise ConfigurationError("--canary-weight: only the edge splits traffic")
        if name not in CANARY_SERVICES:
            raise ConfigurationError(f"--canary-weight: unknown service {name!r} (known: {', '.join(CANARY_SERVICES)})")
        if not 0 <= pct <= 100:
            raise ConfigurationError(f"--canary-weight {name}: percent must be 0..100, got {pct}")
        if pct and f"{name}@canary" not in config.upstreams:
            raise ConfigurationError(f"--canary-weight {name}: no --upstream {name}@canary=URL given")
    if config.upstream_timeout_s <= 0 or config.request_timeout_s <= 0:
        raise ConfigurationError("--upstream-timeout/--request-timeout: must be > 0 seconds")
    if config.max_body_bytes < 1 or config.max_header_bytes < 1024:
        raise ConfigurationError("--max-body-bytes must be >= 1 and --max-header-bytes >= 1024")
    if config.body_timeout_s <= 0 or config.header_timeout_s <= 0:
        raise ConfigurationError("--body-timeout/--header-timeout: must be > 0 seconds")
    if not 0 < config.breaker_failure_rate <= 1 or config.breaker_window_s <= 0 or config.breaker_min_calls < 1:
        raise ConfigurationError("breaker: failure rate must be in (0, 1], window > 0 s and min calls >= 1")
    if config.max_concurrency < 1:
        raise ConfigurationError(f"max concurrency must be >= 1, got {config.max_concurrency}")
