"""The three-way decision on an interval, and the α budget of a stage.

An interval that lies wholly on the good side of an objective PASSes, wholly
on the bad side FAILs, and one that straddles it cannot decide: INCONCLUSIVE
("keep collecting" while a stage runs). With anytime-valid intervals this
rule may be applied after every request without inflating the error rates.
"""

from __future__ import annotations

from harness._verdicts import Verdict

__all__ = [
    "STAGE_ALPHA",
    "SLO_ALPHA",
    "COMPARISON_ALPHA",
    "COST_ALPHA",
    "decide",
    "good_side",
]

#: False-FAIL budget of one canary stage, split by Bonferroni across the families below.
STAGE_ALPHA = 0.05
#: Absolute SLOs over samples: per `evaluate` call, split across the checks it makes
#: (a stage makes two calls: canary and whole stage).
SLO_ALPHA = 0.005
#: Canary-vs-baseline comparisons (latency shift, latency tail, errors): 0.01 each.
COMPARISON_ALPHA = 0.03
#: Cost per request (tier mix on cache misses, and hit ratio where judged).
COST_ALPHA = 0.01


def good_side(value: float, op: str, objective: float) -> bool:
    """`value op objective` for lt, lte, gt, gte."""
    return {
        "lt": value < objective,
        "lte": value <= objective,
        "gt": value > objective,
        "gte": value >= objective,
    }[op]


def decide(low: float, high: float, op: str, objective: float) -> Verdict:
    """PASS when every value in [low, high] meets `op objective`, FAIL when none does."""
    if good_side(low, op, objective) and good_side(high, op, objective):
        return Verdict.PASS
    if not good_side(low, op, objective) and not good_side(high, op, objective):
        return Verdict.FAIL
    return Verdict.INCONCLUSIVE
