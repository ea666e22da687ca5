"""Run results as plain data: what every report, the gate and CI read.

Results are saved as JSON and every report is rendered from the saved JSON,
never from live objects, so any report can be rebuilt from disk
(`harness report PATH`). `ResultBase` holds what any run has (a rollout, or a
game day that subclasses it); `StageResult` is one canary stage; `RunResult`
a whole rollout. `summary.json` (see docs/summary-schema.md) is a public
interface: bump `SCHEMA_VERSION` on any incompatible change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from harness._verdicts import Check, Verdict, combine_verdicts

__all__ = [
    "SCHEMA_VERSION",
    "Series",
    "Window",
    "Distribution",
    "ResultBase",
    "StageResult",
    "RunResult",
]

SCHEMA_VERSION = 1


def _num(value: Any) -> float | None:
    """JSON-safe float (NaN/inf → None)."""
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def _failed_row(check: Check, stage: int | None) -> dict[str, Any]:
    """One entry of summary.json's `failed_checks` (same shape for rollouts and game days)."""
    return {"stage": stage, "name": check.name, "verdict": check.verdict.value, "value": _num(check.value),
            "objective": _num(check.objective), "op": check.op, "unit": check.unit, "detail": check.detail}


def _summary_head(result: Any, *, rolled_back: bool) -> dict[str, Any]:
    """The fields every summary.json starts with, whatever kind of run wrote it."""
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": result.kind,
        "run_id": result.run_id,
        "verdict": result.verdict.value,
        "exit_code": result.exit_code,
        "complete": result.complete,
        "incomplete_reason": result.incomplete_reason,
        "rolled_back": rolled_back,
        "reason": result.reason,
        "started_at": result.started_at,
        "ended_at": result.ended_at,
        "duration_s": round(result.duration_s, 3),
    }


@dataclass
class Series:
    """One line on a chart: `t` in seconds from the result's start, `y` values."""

    name: str
    chart: str
    """Which chart it belongs to: latency, errors, throughput, rss, cpu, …"""
    t: list[float]
    y: list[float | None]
    unit: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "chart": self.chart, "unit": self.unit, "t": [round(x, 3) for x in self.t],
                "y": [None if v is None else round(v, 4) for v in map(_num, self.y)]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Series:
        return cls(d["name"], d["chart"], list(d["t"]), list(d["y"]), d.get("unit", ""))


@dataclass
class Window:
    """A shaded span on time charts (a fault, a warm-up), seconds from start."""

    start: float
    end: float
    label: str
    kind: str = "fault"

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "label": self.label, "kind": self.kind}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Window:
        return cls(float(d["start"]), float(d["end"]), d["label"], d.get("kind", "fault"))


@dataclass
class Distribution:
    """Latency distribution of one revision: 101 quantiles plus a histogram on shared edges."""

    label: str
    count: int
    quantiles: list[float]
    edges: list[float]
    counts: list[int]
    unit: str = "ms"

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "count": self.count, "unit": self.unit,
                "quantiles": [round(q, 3) for q in self.quantiles],
                "edges": [round(e, 3) for e in self.edges], "counts": list(self.counts)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Distribution:
        return cls(d["label"], int(d["count"]), list(d["quantiles"]), list(d["edges"]), list(d["counts"]), d.get("unit", "ms"))


@dataclass
class ResultBase:
    """What every harness run result carries; the game-day result extends it."""

    name: str
    verdict: Verdict = Verdict.INCONCLUSIVE
    started_at: float = 0.0
    """Epoch seconds; every series' `t` counts from here."""
    ended_at: float = 0.0
    complete: bool = True
    incomplete_reason: str = ""
    checks: list[Check] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)
    distributions: list[Distribution] = field(default_factory=list)
    cold_starts: list[dict[str, Any]] = field(default_factory=list)
    """`{"instance": str, "seconds": float}` per process start."""
    events: list[dict[str, Any]] = field(default_factory=list)
    """Journal entries: `{"t": seconds-from-start, "label": str}`."""
    notes: list[str] = field(default_factory=list)
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    """Per request name and revision: requests, failures (with messages), p50/p95/p99
    (`harness.report.endpoint_stats`); empty in results written before it existed."""

    @property
    def duration_s(self) -> float:
        return max(0.0, self.ended_at - self.started_at)

    def judge(self) -> Verdict:
        """Recompute `verdict` from the checks; an incomplete result is never PASS."""
        verdict = combine_verdicts(c.verdict for c in self.checks)
        if not self.complete and verdict is Verdict.PASS:
            verdict = Verdict.INCONCLUSIVE
        self.verdict = verdict
        return verdict

    def failed_checks(self) -> list[Check]:
        return [c for c in self.checks if c.verdict is not Verdict.PASS]

    def checks_of(self, *kinds: str) -> list[Check]:
        return [c for c in self.checks if c.kind in kinds]

    def base_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "verdict": self.verdict.value,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration_s": round(self.duration_s, 3),
            "complete": self.complete,
            "incomplete_reason": self.incomplete_reason,
            "checks": [c.to_dict() for c in self.checks],
            "series": [s.to_dict() for s in self.series],
            "windows": [w.to_dict() for w in self.windows],
            "distributions": [d.to_dict() for d in self.distributions],
            "cold_starts": list(self.cold_starts),
            "events": list(self.events),
            "notes": list(self.notes),
            "endpoints": [{k: _num(v) if isinstance(v, float) else v for k, v in e.items()} for e in self.endpoints],
        }

    @staticmethod
    def base_fields(d: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": d["name"],
            "verdict": Verdict(d["verdict"]),
            "started_at": float(d["started_at"]),
            "ended_at": float(d["ended_at"]),
            "complete": bool(d["complete"]),
            "incomplete_reason": d.get("incomplete_reason", ""),
            "checks": [Check.from_dict(c) for c in d.get("checks", [])],
            "series": [Series.from_dict(s) for s in d.get("series", [])],
            "windows": [Window.from_dict(w) for w in d.get("windows", [])],
            "distributions": [Distribution.from_dict(x) for x in d.get("distributions", [])],
            "cold_starts": list(d.get("cold_starts", [])),
            "events": list(d.get("events", [])),
            "notes": list(d.get("notes", [])),
            "endpoints": list(d.get("endpoints", [])),
        }


@dataclass
class StageResult(ResultBase):
    """One canary stage: its weight, every check, cost per revision, chart data."""

    weight: int = 0
    requests: dict[str, int] = field(default_factory=dict)
    """Requests per revision (from the samples)."""
    cost: dict[str, dict[str, Any]] = field(default_factory=dict)
    """`CostEstimate.to_dict()` per revision."""
    decided_after_s: float | None = None
    """Judged seconds after which the sequential judge decided (None: it ran to the max duration)."""

    @property
    def directory(self) -> str:
        return f"stage-{self.weight}"

    def to_dict(self) -> dict[str, Any]:
        data = {"schema_version": SCHEMA_VERSION, "kind": "stage", "weight": self.weight, **self.base_dict()}
        data["requests"] = dict(self.requests)
        data["cost"] = dict(self.cost)
        data["decided_after_s"] = _num(self.decided_after_s)
        return data

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StageResult:
        decided = d.get("decided_after_s")
        return cls(**cls.base_fields(d), weight=int(d["weight"]), requests=dict(d.get("requests", {})),
                   cost=dict(d.get("cost", {})),
                   decided_after_s=float(decided) if isinstance(decided, (int, float)) else None)

    def summary(self) -> dict[str, Any]:
        """This stage's entry in summary.json (no chart data)."""
        return {
            "weight": self.weight,
            "name": self.name,
            "verdict": self.verdict.value,
            "complete": self.complete,
            "incomplete_reason": self.incomplete_reason,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "decided_after_s": _num(self.decided_after_s),
            "requests": dict(self.requests),
            "checks": [c.to_dict() for c in self.checks if c.kind not in ("comparison", "cost")],
            "comparisons": [c.to_dict() for c in self.checks_of("comparison")],
            "cost": [c.to_dict() for c in self.checks_of("cost")],
            "cost_by_revision": dict(self.cost),
            "report": f"{self.directory}/report.json",
        }


@dataclass
class RunResult(ResultBase):
    """A whole rollout: its stages in order, whether it rolled back, and why."""

    run_id: str = ""
    kind: str = "rollout"
    stages: list[StageResult] = field(default_factory=list)
    rolled_back: bool = False
    reason: str = ""
    """One line: why the run stopped (the failed check and by how much), or 'promoted'."""
    config: dict[str, Any] = field(default_factory=dict)

    def judge(self) -> Verdict:
        """Stages decide: FAIL if any failed, INCONCLUSIVE if any was or none ran."""
        verdict = combine_verdicts([s.verdict for s in self.stages] + [c.verdict for c in self.checks])
        if not self.complete and verdict is Verdict.PASS:
            verdict = Verdict.INCONCLUSIVE
        self.verdict = verdict
        return verdict

    @property
    def planned_stages(self) -> list[int]:
        """The weights the rollout was asked to run (`config["stages"]`), else those that ran."""
        raw = self.config.get("stages")
        weights: list[int] = []
        if isinstance(raw, str):
            weights = [int(w) for w in raw.replace(" ", "").split(",") if w.isdigit()]
        elif isinstance(raw, (list, tuple)):
            weights = [int(w) for w in raw if isinstance(w, (int, float))]
        ran = [s.weight for s in self.stages]
        return weights if set(ran) <= set(weights) else sorted(set(weights) | set(ran))

    @property
    def stages_not_run(self) -> list[int]:
        """Planned weights that never ran (after a rollback, an interrupt, an inconclusive stage)."""
        ran = {s.weight for s in self.stages}
        return [w for w in self.planned_stages if w not in ran]

    def summary(self) -> dict[str, Any]:
        """The content of summary.json."""
        failed = [_failed_row(c, s.weight) for s in self.stages for c in s.failed_checks()]
        return {
            **_summary_head(self, rolled_back=self.rolled_back),
            "config": dict(self.config),
            "stages": [s.summary() for s in self.stages],
            "planned_stages": self.planned_stages,
            "stages_not_run": [{"weight": w, "verdict": "not run"} for w in self.stages_not_run],
            "failed_checks": failed,
            "run": {k: v for k, v in self.base_dict().items() if k not in ("verdict", "started_at", "ended_at", "complete", "incomplete_reason")},
        }

    @property
    def exit_code(self) -> int:
        """What `harness gate` returns for this run."""
        return 2 if not self.complete else self.verdict.exit_code

    @classmethod
    def from_summary(cls, summary: dict[str, Any], stages: list[StageResult]) -> RunResult:
        """Rebuild from summary.json plus each stage's report.json."""
        run = dict(summary.get("run", {}))
        for key in ("verdict", "started_at", "ended_at", "complete", "incomplete_reason"):
            run[key] = summary[key]
        return cls(**cls.base_fields(run), run_id=summary["run_id"], kind=summary.get("kind", "rollout"),
                   stages=stages, rolled_back=bool(summary.get("rolled_back", False)),
                   reason=summary.get("reason", ""), config=dict(summary.get("config", {})))
