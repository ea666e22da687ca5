"""The three-way decision on an interval, and the α budget of a stage.

An interval that lies wholly on the good side of an objective PASSes, wholly
on the bad side FAILs, and one that straddles it cannot decide: INCONCLUSIVE
("keep collecting" while a stage runs). With anytime-valid intervals this
rule may be applied after every request without inflating the error rates.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace

from harness._verdicts import Check, Verdict

__all__ = [
    "STAGE_ALPHA",
    "SLO_ALPHA",
    "COMPARISON_ALPHA",
    "COST_ALPHA",
    "decide",
    "good_side",
    "settle_at_max_duration",
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


def _not_shown_worse(c: Check) -> bool:
    """A canary-vs-baseline check (comparison or cost) whose interval still reaches 'no difference at all'.

    Its interval is on the difference, canary minus baseline (a ratio minus 1
    for cost), so 0 means no change. Per-request prices are heavy-tailed and
    a p95 of a bimodal latency moves tens of percent between two samples of the
    same code, so at a stage's last look the estimate's side of the minimum
    effect says little: a healthy canary's estimate lands beyond it often
    enough to hold one healthy rollout in four back (measured). What a stage
    can say is whether it showed the canary worse at all; when it did not, the
    check does not hold the rollout back. A regression it could show beyond
    the minimum effect, it FAILs at an earlier look.

    Only an interval bounded on both sides counts: one still open on a side
    (too few requests for an order statistic, an unbounded price ratio) could
    not have shown the canary worse, so it says nothing. A canary 147 ms slower
    at p95 over a 6 s stage had [-inf, +204.7] and was settled PASS that way.
    """
    if c.kind not in ("comparison", "cost") or c.interval is None:
        return False
    low, high = c.interval
    if not (math.isfinite(low) and math.isfinite(high)):
        return False
    return low <= 0.0 if c.op in ("lt", "lte") else high >= 0.0


def settle_at_max_duration(checks: Iterable[Check]) -> list[Check]:
    """The stage's last word when its maximum duration ran out with checks still undecided.

    An INCONCLUSIVE check whose estimate is on the good side of its objective,
    or a canary-vs-baseline check whose interval never showed the canary worse
    at all ("no regression found", not "proven equivalent"), becomes PASS, its
    detail saying how large a miss its interval still allows; any other stays
    INCONCLUSIVE (never promotes, never a FAIL). Checks
    undecided for other reasons stay as they are: no interval or value, too
    few samples (`extra["thin"]`), or a saturated load generator. FAIL and
    PASS are final already. The false-FAIL guarantee is untouched (no FAIL
    is added); what this trades is the risk of promoting a regression the
    stage was too short to prove — the bench's power table measures it.
    """
    out: list[Check] = []
    for c in checks:
        settle = (
            c.verdict is Verdict.INCONCLUSIVE
            and c.interval is not None
            and c.value is not None
            and c.objective is not None
            and not c.extra.get("thin")
            and "verdict_before_generator_check" not in c.extra
            and (good_side(float(c.value), c.op, float(c.objective)) or _not_shown_worse(c))
        )
        if settle:
            assert c.interval is not None and c.value is not None and c.objective is not None
            why = ("estimate within the objective" if good_side(float(c.value), c.op, float(c.objective))
                   else "the canary was never shown worse")
            c = replace(c, verdict=Verdict.PASS, samples_needed=None,
                        detail=(f"no regression found by the maximum duration ({why}, not proven: the interval "
                                f"still reaches {c.interval[1]:.4g}); {c.detail}"),
                        extra={**c.extra, "settled_at_max_duration": True})
        out.append(c)
    return out
