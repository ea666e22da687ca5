"""Canary analysis: the canary-vs-baseline judge, the cost model, the rollout loop."""

from __future__ import annotations

from harness.canary._judge import (
    JudgeConfig,
    compare_errors,
    compare_latency,
    compare_latency_tail,
    hodges_lehmann,
    judge_samples,
)

__all__ = [
    "JudgeConfig",
    "compare_errors",
    "compare_latency",
    "compare_latency_tail",
    "hodges_lehmann",
    "judge_samples",
]
