"""Verdicts and checks: the shared vocabulary of analysis, reports and the gate.

A check is one comparison of an observed value with an objective. Checks are
pure results (serialisable, no behaviour), produced by SLO evaluation, the
canary judge, the cost judge and failover measurement alike.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Verdict", "Check", "combine_verdicts"]


class Verdict(str, enum.Enum):
    """Outcome of a check. INCONCLUSIVE never promotes a canary."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"

    @property
    def exit_code(self) -> int:
        """0 pass, 1 fail, 2 inconclusive (the harness-wide exit codes)."""
        return {Verdict.PASS: 0, Verdict.FAIL: 1, Verdict.INCONCLUSIVE: 2}[self]


def combine_verdicts(verdicts: Iterable[Verdict]) -> Verdict:
    """FAIL if any failed, else INCONCLUSIVE if any was, else PASS (empty → INCONCLUSIVE)."""
    seen = list(verdicts)
    if not seen:
        return Verdict.INCONCLUSIVE
    if Verdict.FAIL in seen:
        return Verdict.FAIL
    if Verdict.INCONCLUSIVE in seen:
        return Verdict.INCONCLUSIVE
    return Verdict.PASS


@dataclass(frozen=True)
class Check:
    """One judged quantity: `value` against `objective` with operator `op`.

    `name` identifies the check (an SLO name, `compare/latency`, `cost/...`);
    `scope` says what it covered (`all`, `revision=canary`, `group=route`).
    `value` is None (and the verdict INCONCLUSIVE) when there was no data.
    """

    name: str
    verdict: Verdict
    value: float | None
    objective: float | None
    op: str  # one of lt, lte, gt, gte
    unit: str = ""
    samples: int = 0
    scope: str = "all"
    kind: str = "slo"  # slo | comparison | cost | failover | coldstart | resource
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # Uncertainty, where the check has any: the (1 - alpha) interval around
    # `value` (a confidence sequence when judged sequentially), its level, and
    # the sample count that would likely decide an INCONCLUSIVE check.
    interval: tuple[float, float] | None = None
    confidence: float | None = None
    samples_needed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (NaN/inf become None)."""
        data = asdict(self)
        data["verdict"] = self.verdict.value
        for key in ("value", "objective"):
            v = data[key]
            if isinstance(v, float) and not math.isfinite(v):
                data[key] = None
        if self.interval is not None:  # an unbounded side (±inf) is written as null
            data["interval"] = [b if math.isfinite(b) else None for b in self.interval]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Check:
        """Inverse of `to_dict`."""
        fields = dict(data)
        fields["verdict"] = Verdict(fields["verdict"])
        if fields.get("interval") is not None:
            low, high = fields["interval"]
            fields["interval"] = (-math.inf if low is None else float(low), math.inf if high is None else float(high))
        return cls(**fields)
