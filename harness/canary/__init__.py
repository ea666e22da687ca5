"""Canary analysis: the canary-vs-baseline judge, the cost model, the rollout loop."""

from __future__ import annotations

from harness.canary._cost import (
    CostConfig,
    CostEstimate,
    PriceTable,
    Usage,
    compare_cost,
    estimate_cost,
    load_prices,
    parse_usage,
    scrape_usage,
)
from harness.canary._judge import (
    JudgeConfig,
    compare_errors,
    compare_latency,
    compare_latency_tail,
    hodges_lehmann,
    judge_samples,
)

__all__ = [
    "CostConfig",
    "CostEstimate",
    "PriceTable",
    "Usage",
    "compare_cost",
    "estimate_cost",
    "load_prices",
    "parse_usage",
    "scrape_usage",
    "JudgeConfig",
    "compare_errors",
    "compare_latency",
    "compare_latency_tail",
    "hodges_lehmann",
    "judge_samples",
]
