"""Statistics of the verdicts: anytime-valid intervals, decisions, generator health.

Every interval here is a *confidence sequence*: valid at every sample size
at once, so the stage loop may judge as often as it likes (docs/statistics.md).

    low, high = quantile_cs(latencies, 0.95, alpha=0.005)   # p95, distribution-free
    low, high = proportion_cs(errors, n, 0.005, *prior(0.01))
    verdict = decide(low, high, "lt", 100.0)                 # PASS / FAIL / INCONCLUSIVE
    health = generator_health(samples, target_rps=200)       # pacer lateness, rate, CPU
"""

from __future__ import annotations

from harness.stats._bounded import asymptotic_mean_cs, bounded_mean_cs, bounded_mean_cs_path
from harness.stats._decide import (
    COMPARISON_ALPHA,
    COST_ALPHA,
    SLO_ALPHA,
    STAGE_ALPHA,
    decide,
    good_side,
    settle_at_max_duration,
)
from harness.stats._generator import (
    GeneratorConfig,
    GeneratorHealth,
    downgrade_if_saturated,
    generator_health,
)
from harness.stats._proportion import DEFAULT_STRENGTH, log_mixture, prior, proportion_cs, samples_to_exclude
from harness.stats._quantile import count_bounds, quantile_cs

__all__ = [
    "COMPARISON_ALPHA",
    "COST_ALPHA",
    "DEFAULT_STRENGTH",
    "GeneratorConfig",
    "GeneratorHealth",
    "SLO_ALPHA",
    "STAGE_ALPHA",
    "asymptotic_mean_cs",
    "bounded_mean_cs",
    "bounded_mean_cs_path",
    "count_bounds",
    "decide",
    "downgrade_if_saturated",
    "generator_health",
    "good_side",
    "log_mixture",
    "prior",
    "proportion_cs",
    "quantile_cs",
    "samples_to_exclude",
    "settle_at_max_duration",
]
