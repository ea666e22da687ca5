"""Canary analysis: the canary-vs-baseline judge, the cost model, stage judging, the rollout loop.

    from harness.canary import RolloutConfig, run_rollout
    run_dir, run = run_rollout(RolloutConfig(stages=(10, 50, 100), rps=200))
    run.verdict, run.reason          # also in run_dir/summary.json

The judge and cost check are usable alone on any samples / `/metrics` text
(`judge_samples`, `compare_cost`); an experiment hook (`StageContext` →
`StageExtras`) runs inside every judged stage window.
"""

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
from harness.canary._hooks import ExperimentHook, StageContext, chaos_file_hook
from harness.canary._judge import (
    JudgeConfig,
    compare_errors,
    compare_latency,
    compare_latency_tail,
    hodges_lehmann,
    judge_samples,
)
from harness.canary._rollout import RolloutConfig, failure_reason, run_rollout
from harness.canary._stage import StageExtras, StageInputs, judge_stage, measurement_slo

__all__ = [
    "CostConfig",
    "CostEstimate",
    "ExperimentHook",
    "JudgeConfig",
    "PriceTable",
    "RolloutConfig",
    "StageContext",
    "StageExtras",
    "StageInputs",
    "Usage",
    "chaos_file_hook",
    "compare_cost",
    "compare_errors",
    "compare_latency",
    "compare_latency_tail",
    "estimate_cost",
    "failure_reason",
    "hodges_lehmann",
    "judge_samples",
    "judge_stage",
    "load_prices",
    "measurement_slo",
    "parse_usage",
    "run_rollout",
    "scrape_usage",
]
