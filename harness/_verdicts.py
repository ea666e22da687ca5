"""Verdicts and checks: the shared vocabulary of analysis, reports and the gate.

A check is one comparison of an observed value with an objective. Checks are
pure results (serialisable, no behaviour), produced by SLO evaluation, the
canary judge, the cost judge and failover measurement alike.

`Check.kind` (`CheckKind`) and `Check.op` (`Op`) are `str` enums: a producer
may still pass `"cost"` or `"lt"`, comparisons such as `check.kind == "cost"`
keep working and the JSON is unchanged, but a typo is a `ValueError` where the
check is made, not a silent miss in a report or an exporter. `Check.scope` is
a `Scope`, a `str` with a documented grammar (see `Scope`).
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["json_safe", "Verdict", "Check", "CheckKind", "Op", "Scope", "combine_verdicts", "op_symbol"]


class Verdict(str, enum.Enum):
    """Outcome of a check. INCONCLUSIVE never promotes a canary."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"

    @property
    def exit_code(self) -> int:
        """0 pass, 1 fail, 2 inconclusive (the harness-wide exit codes)."""
        return {Verdict.PASS: 0, Verdict.FAIL: 1, Verdict.INCONCLUSIVE: 2}[self]


def json_safe(value: Any) -> Any:
    """`value` with every inf/NaN float as None: JSON has neither (an unbounded interval side, say)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


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


class CheckKind(enum.StrEnum):
    """What produced a check; exporters and reports choose by kind, never by name."""

    SLO = "slo"
    """An absolute SLO over samples or a measured value (latency, errors, ...)."""
    COMPARISON = "comparison"
    """Canary against baseline on the same traffic."""
    COST = "cost"
    """Projected cost per request, canary against baseline."""
    FAILOVER = "failover"
    """Fault injection to the first sustained healthy window, seconds."""
    COLDSTART = "coldstart"
    """Process spawn to the first ready answer, seconds."""
    RESOURCE = "resource"
    """A resource measurement of an instance (peak RSS, CPU)."""
    GENERATOR = "generator"
    """The load generator's health (pacer lateness, achieved rate, host CPU)."""
    LOAD = "load"
    """The load run's integrity (Locust and worker exit codes, samples complete)."""


class Op(enum.StrEnum):
    """The OpenSLO operators: `value op objective` must hold to pass."""

    LT = "lt"
    LTE = "lte"
    GT = "gt"
    GTE = "gte"

    @property
    def symbol(self) -> str:
        """`<`, `≤`, `>` or `≥`, for tables."""
        return {Op.LT: "<", Op.LTE: "≤", Op.GT: ">", Op.GTE: "≥"}[self]

    def holds(self, value: float, objective: float) -> bool:
        """True when `value op objective`."""
        v, o = float(value), float(objective)
        return {Op.LT: v < o, Op.LTE: v <= o, Op.GT: v > o, Op.GTE: v >= o}[self]


def op_symbol(op: str) -> str:
    """`<`, `≤`, `>` or `≥` for an operator as a check carries it; anything else as it is (a report may be old)."""
    try:
        return Op(op).symbol
    except ValueError:
        return op


_SCOPE_PAIR = re.compile(r"(?:^|(?<=[,\s]))(?P<key>[A-Za-z_][\w.-]*)=(?P<value>[^,]*?)(?=,|\s+[A-Za-z_][\w.-]*=|\s+\S*->|$)")


class Scope(str):
    """What a check covered: a `str` with a small grammar, parsed on demand.

    A scope is parts separated by `,` or whitespace; a part is `key=value`
    (`revision=canary`, `instance=edge`, `window=fault`, `name=POST /v1/route`)
    or a bare label (`all`, `canary-vs-baseline`, a link such as
    `ai-routing-engine->internal-ai.primary`). A value runs to the next `,`,
    the next ` key=` or the next link, so it may hold spaces. Producers keep
    writing strings (`revision=canary,name=x`, `window=fault revision=canary`);
    readers use `get`/`revision`/`labels` instead of splitting it themselves.

        Scope("window=fault revision=canary").revision == "canary"
    """

    __slots__ = ()

    @classmethod
    def of(cls, *labels: str, **pairs: str) -> Scope:
        """Build a scope: `Scope.of(revision="canary")` → `revision=canary`; none → `all`."""
        parts = [*labels, *(f"{k}={v}" for k, v in pairs.items())]
        return cls(",".join(parts) or "all")

    def pairs(self) -> Mapping[str, str]:
        """Every `key=value` part (the first wins when a key repeats)."""
        out: dict[str, str] = {}
        for m in _SCOPE_PAIR.finditer(self):
            out.setdefault(m["key"], m["value"].strip())
        return out

    def get(self, key: str) -> str | None:
        """The value of `key`, or None."""
        return self.pairs().get(key) or None

    @property
    def revision(self) -> str | None:
        """`canary` for `revision=canary` (among other parts); None when absent."""
        return self.get("revision")

    @property
    def labels(self) -> tuple[str, ...]:
        """The bare parts (`all`, `canary-vs-baseline`, link names)."""
        rest = _SCOPE_PAIR.sub(" ", self)
        return tuple(p for p in re.split(r"[,\s]+", rest) if p)


@dataclass(frozen=True, init=False)
class Check:
    """One judged quantity: `value` against `objective` with operator `op`.

    `name` identifies the check (an SLO name, `compare/latency`, `cost/...`);
    `scope` says what it covered (`all`, `revision=canary`, see `Scope`).
    `value` is None (and the verdict INCONCLUSIVE) when there was no data.
    `op`, `kind` and `scope` accept plain strings and are stored typed
    (`Op`, `CheckKind`, `Scope`); an unknown op or kind is a ValueError.
    `scope` is annotated `str` so `dataclasses.replace(c, scope=...)` takes a
    plain string; read its parts through `scope_parts`.
    """

    name: str
    verdict: Verdict
    value: float | None
    objective: float | None
    op: Op
    unit: str = ""
    samples: int = 0
    scope: str = "all"  # stored as a `Scope` (a str): see `scope_parts`
    kind: CheckKind = CheckKind.SLO
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # Uncertainty, where the check has any: the (1 - alpha) interval around
    # `value` (a confidence sequence when judged sequentially), its level, and
    # the sample count that would likely decide an INCONCLUSIVE check.
    interval: tuple[float, float] | None = None
    confidence: float | None = None
    samples_needed: int | None = None

    def __init__(
        self,
        name: str,
        verdict: Verdict,
        value: float | None,
        objective: float | None,
        op: Op | str,
        unit: str = "",
        samples: int = 0,
        scope: str = "all",
        kind: CheckKind | str = CheckKind.SLO,
        detail: str = "",
        extra: dict[str, Any] | None = None,
        interval: tuple[float, float] | None = None,
        confidence: float | None = None,
        samples_needed: int | None = None,
    ) -> None:
        fields = {
            "name": name, "verdict": Verdict(verdict), "value": value, "objective": objective, "op": Op(op),
            "unit": unit, "samples": samples, "scope": Scope(scope), "kind": CheckKind(kind), "detail": detail,
            "extra": {} if extra is None else extra, "interval": interval, "confidence": confidence,
            "samples_needed": samples_needed,
        }  # fmt: skip
        for key, val in fields.items():
            object.__setattr__(self, key, val)

    @property
    def scope_parts(self) -> Scope:
        """`scope` parsed (`.revision`, `.get(key)`, `.labels`)."""
        return Scope(self.scope)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (NaN/inf become None)."""
        data = asdict(self)
        data["verdict"] = self.verdict.value
        data["op"], data["kind"], data["scope"] = self.op.value, self.kind.value, str(self.scope)
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
