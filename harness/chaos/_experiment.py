"""Chaos experiment files: the typed model (validation lives in `_loader`).

The shape follows Chaos Toolkit's experiment format (title, description, tags,
steady-state hypothesis, method, rollbacks) with what a load-driven game day
needs instead of probes: the steady state is a list of SLO names judged over
the samples, and the method is a timeline of actions at offsets from the start
of load. Every problem is reported as an `ExperimentError` naming the file,
the field and the problem, so a bad file never injects a single fault.
Durations (`at`, `for`, `load.duration`, windows) use the harness's one
grammar, `harness._duration.parse_duration` (`500ms`, `20s`, `2m`, `1h`;
a bare number is refused), re-exported here for older imports.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from harness._duration import parse_duration

__all__ = [
    "Action",
    "WindowCheck",
    "Experiment",
    "HealthyRule",
    "SteadyState",
    "Toxic",
    "TOXIC_ATTRIBUTES",
    "CHECK_METRICS",
    "CHECK_WINDOWS",
    "JUDGEMENTS",
    "LINK_ACTIONS",
    "PROCESS_ACTIONS",
    "ROLLBACK_LINK_ACTIONS",
    "ROLLBACK_PROCESS_ACTIONS",
    "parse_duration",
]

#: Toxic types Toxiproxy knows and the integer attributes each accepts.
TOXIC_ATTRIBUTES: dict[str, frozenset[str]] = {
    "latency": frozenset({"latency", "jitter"}),
    "bandwidth": frozenset({"rate"}),
    "slow_close": frozenset({"delay"}),
    "timeout": frozenset({"timeout"}),
    "reset_peer": frozenset({"timeout"}),
    "slicer": frozenset({"average_size", "size_variation", "delay"}),
    "limit_data": frozenset({"bytes"}),
    "noop": frozenset(),
}
#: Actions on a named Toxiproxy link (method) and on a process (method).
LINK_ACTIONS = frozenset({"toxic", "down"})
PROCESS_ACTIONS = frozenset({"kill", "restart", "freeze", "thaw"})
#: What a `rollbacks` entry may do (no offsets: they run after the method).
ROLLBACK_LINK_ACTIONS = frozenset({"enable"})
ROLLBACK_PROCESS_ACTIONS = frozenset({"restart", "thaw"})
CHECK_METRICS = frozenset({"error-ratio", "p95-ms", "p99-ms", "successes", "failures", "requests"})
CHECK_WINDOWS = frozenset({"fault", "before", "after", "run"})
JUDGEMENTS = frozenset({"failover", "recovery"})

@dataclass(frozen=True)
class Toxic:
    """A Toxiproxy toxic to add to a link."""

    type: str
    stream: str = "downstream"
    toxicity: float = 1.0
    attributes: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Action:
    """One step of the method (or a rollback): what to do to which target, when.

    `at` and `duration` are seconds from the start of load; `duration` None
    means the fault lasts until the method ends (it is still undone then).
    Exactly one of `link` / `process` is set.
    """

    name: str
    action: str
    at: float = 0.0
    duration: float | None = None
    link: str | None = None
    process: str | None = None
    toxic: Toxic | None = None
    judge: tuple[str, ...] = ()

    @property
    def target(self) -> str:
        """The link or process name the action acts on."""
        return self.link if self.link is not None else str(self.process)

    @property
    def is_fault(self) -> bool:
        """True when the action degrades something that must later be undone."""
        return self.action in {"toxic", "down", "kill", "freeze"}

    @property
    def end(self) -> float | None:
        """Planned offset at which the fault is undone (None: at the end of the method)."""
        return None if self.duration is None else self.at + self.duration


@dataclass(frozen=True)
class SteadyState:
    """The steady-state hypothesis: SLOs that must hold before and after the faults."""

    title: str
    slos: tuple[str, ...]
    duration: float = 10.0
    after: float = 10.0


@dataclass(frozen=True)
class HealthyRule:
    """When a 1-second window counts as healthy, and how many in a row count as recovered.

    Failover time is measured from fault injection to the start of the first
    run of `consecutive` healthy windows; a window is healthy when it holds at
    least `min_requests` requests, an error ratio below `max_error_ratio` and a
    p95 latency below `max_p95_ms`.
    """

    window: float = 1.0
    consecutive: int = 5
    max_error_ratio: float = 0.01
    max_p95_ms: float = 100.0
    min_requests: int = 3

    def describe(self) -> str:
        """The rule in one sentence, for reports."""
        return (
            f"{self.consecutive} consecutive {self.window:g} s windows, each with >= {self.min_requests} requests, "
            f"error ratio < {self.max_error_ratio:.2%} and p95 < {self.max_p95_ms:g} ms"
        )


@dataclass(frozen=True)
class WindowCheck:
    """A judged figure over the samples of one window of the game day.

    Either `slo` names an SLO (evaluated over the window's samples only), or
    `metric` / `op` / `value` state the figure inline. `window` is `fault`
    (while any fault is active), `before` (before the first fault), `after`
    (after the last fault ends) or `run` (everything); `requests` is a regular
    expression over the request name (all requests if None).
    """

    name: str
    metric: str | None = None
    op: str = "lte"
    value: float = 0.0
    window: str = "fault"
    requests: str | None = None
    slo: str | None = None


@dataclass(frozen=True)
class Experiment:
    """A validated experiment file."""

    title: str
    description: str
    method: tuple[Action, ...]
    tags: tuple[str, ...] = ()
    steady_state: SteadyState | None = None
    healthy: HealthyRule = HealthyRule()
    failover_slo: str = "failover"
    checks: tuple[WindowCheck, ...] = ()
    rollbacks: tuple[Action, ...] = ()
    duration: float | None = None
    rps: float | None = None
    primary_region: str | None = None
    source: str = "<experiment>"

    @property
    def method_end(self) -> float:
        """Offset at which the last action (and its fault window) has ended."""
        ends = [a.end if a.end is not None else a.at for a in self.method]
        return max(ends, default=0.0)

    @property
    def recovery_needs(self) -> float:
        """Shortest load that can show a sustained healthy run after every judged recovery."""
        sustained = self.healthy.consecutive * self.healthy.window
        ends = [a.end + sustained for a in self.method if "recovery" in a.judge and a.end is not None]
        return max(ends, default=0.0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe copy for the game-day journal (Chaos Toolkit keeps one too)."""
        return asdict(self)


def __getattr__(name: str) -> Any:
    """`load_experiment` / `parse_experiment` moved to `_loader`; old imports keep working."""
    if name in ("load_experiment", "parse_experiment"):
        from harness.chaos import _loader

        return getattr(_loader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
