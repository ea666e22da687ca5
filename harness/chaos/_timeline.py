"""The fault timeline: actions at offsets from the start of load, undone whatever happens.

`FaultTimeline` runs an experiment's method in a background thread while the
caller runs load (a Locust subprocess) in the foreground. Every action is
journalled (planned and actual start and end, outcome, error). Every fault it
injected is undone — on schedule, at the end, on an exception and on Ctrl-C —
by `rollback()`, which the context manager always calls; Chaos Toolkit's
default of skipping rollbacks after a failure is exactly what this avoids.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any, Protocol

from harness.chaos._experiment import Action
from harness.chaos._failover import FaultWindow
from harness.topology._process import signals_ignored

__all__ = ["FaultTimeline", "JournalEntry", "PlatformActions", "ToxicActions"]


class ToxicActions(Protocol):
    """The part of `harness.toxiproxy.ToxiproxyClient` the timeline uses."""

    def add_toxic(
        self,
        proxy: str,
        name: str,
        type: str,
        *,
        stream: str = ...,
        toxicity: float = ...,
        attributes: Mapping[str, Any] | None = ...,
    ) -> Any: ...

    def remove_toxic(self, proxy: str, name: str) -> Any: ...

    def disable(self, proxy: str) -> Any: ...

    def enable(self, proxy: str) -> Any: ...


class PlatformActions(Protocol):
    """The part of `harness.topology.Platform` the timeline uses."""

    def kill(self, name: str) -> Any: ...

    def restart(self, name: str) -> Any: ...

    def freeze(self, name: str) -> Any: ...

    def thaw(self, name: str) -> Any: ...


@dataclass
class JournalEntry:
    """One action as it happened. Offsets are seconds from t0; times are epoch seconds.

    `outcome`: `pending` (not reached), `injected` (fault active), `undone`
    (fault removed on schedule), `rolled-back` (removed by the rollback),
    `done` (instantaneous action ran), `failed`, `skipped` (run stopped first).
    """

    action: str
    kind: str
    target: str
    phase: str
    planned_start: float
    planned_end: float | None
    started_at: float | None = None
    ended_at: float | None = None
    outcome: str = "pending"
    error: str = ""
    undo_error: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict for the game-day report."""
        return asdict(self)


_UNDO_KIND = {"toxic": "remove toxic", "down": "enable", "kill": "restart", "freeze": "thaw"}


class FaultTimeline:
    """Execute `actions` at their offsets in a thread; always undo what was injected.

    **Parameters:**

    * `actions` — the experiment's method.
    * `toxiproxy` — a `ToxiproxyClient` (link actions).
    * `platform` — a `Platform` (process actions); may be None when only links are faulted.
    * `rollbacks` — extra actions run by `rollback()` after every fault is undone.

    Example:

        with FaultTimeline(exp.method, toxiproxy=platform.toxiproxy, platform=platform) as timeline:
            run_load()            # the timeline runs alongside
        timeline.journal          # rollback has run here, whatever happened
    """

    def __init__(
        self,
        actions: Sequence[Action],
        *,
        toxiproxy: ToxicActions | None,
        platform: PlatformActions | None = None,
        rollbacks: Sequence[Action] = (),
        clock: Callable[[], float] = time.time,
        on_change: Callable[[JournalEntry], None] | None = None,
    ) -> None:
        for action in (*actions, *rollbacks):
            if action.link is not None and toxiproxy is None:
                raise ValueError(f"action {action.name!r} acts on a link but no Toxiproxy client was given")
            if action.process is not None and platform is None:
                raise ValueError(f"action {action.name!r} acts on a process but no platform was given")
        self._actions = list(actions)
        self._rollbacks = list(rollbacks)
        self._toxiproxy = toxiproxy
        self._platform = platform
        self._clock = clock
        self._on_change = on_change
        """Told of every injection and undo (the engine fires `fault_injected`/`fault_removed`)."""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._active: dict[str, JournalEntry] = {}
        self._entries = {
            a.name: JournalEntry(a.name, a.action, a.target, "method", a.at, a.end) for a in self._actions
        }
        self._rollback_entries: list[JournalEntry] = []
        self.t0: float | None = None

    # -- lifecycle -------------------------------------------------------
    def start(self, t0: float | None = None) -> None:
        """Start the clock (offsets count from `t0`, default now) and the executor thread."""
        if self._thread is not None:
            raise RuntimeError("timeline already started")
        self.t0 = self._clock() if t0 is None else t0
        self._thread = threading.Thread(target=self._run, name="fault-timeline", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop executing further actions (active faults stay until `rollback()`)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for every scheduled action to have run; True when they all did."""
        if self._thread is None:
            return False
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def finished(self) -> bool:
        """True when every action was reached (none pending, skipped or still active)."""
        return all(e.outcome not in {"pending", "injected", "skipped"} for e in self._entries.values())

    @property
    def failures(self) -> list[JournalEntry]:
        """Entries whose action or undo failed: the experiment did not do what it said."""
        return [e for e in self.journal if e.outcome == "failed" or e.undo_error]

    def __enter__(self) -> FaultTimeline:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        self.rollback()

    # -- the executor thread ---------------------------------------------
    def _schedule(self) -> list[tuple[float, int, Action]]:
        events: list[tuple[float, int, Action]] = []
        for action in self._actions:
            events.append((action.at, 1, action))
            if action.end is not None:
                events.append((action.end, 0, action))  # ends sort before starts at the same offset
        return sorted(events, key=lambda e: (e[0], e[1]))

    def _run(self) -> None:
        assert self.t0 is not None
        for offset, is_start, action in self._schedule():
            delay = self.t0 + offset - self._clock()
            if delay > 0 and self._stop.wait(delay):
                break
            if self._stop.is_set():
                break
            if is_start:
                self._inject(action)
            else:
                self._undo(action.name, outcome="undone")
        with self._lock:
            for entry in self._entries.values():
                if entry.outcome == "pending":
                    entry.outcome = "skipped"

    def _inject(self, action: Action) -> None:
        entry = self._entries[action.name]
        with self._lock:
            if self._closed:
                entry.outcome = "skipped"
                return
        entry.started_at = self._clock()
        try:
            self._do(action)
        except Exception as exc:  # an injection failure is an observation, never a crash
            entry.outcome, entry.error = "failed", f"{type(exc).__name__}: {exc}"
            entry.ended_at = self._clock()
            self._notify(entry)
            return
        with self._lock:
            if action.is_fault:
                entry.outcome = "injected"
                self._active[action.name] = entry
            else:
                entry.outcome, entry.ended_at = "done", self._clock()
                if action.action == "thaw":  # an explicit thaw ends an open-ended freeze
                    for name, other in list(self._active.items()):
                        if other.kind == "freeze" and other.target == action.target:
                            other.outcome, other.ended_at = "undone", entry.started_at
                            del self._active[name]
            closed = self._closed
        self._notify(entry)
        if closed:  # rollback ran while we were injecting: undo at once
            self._undo(action.name, outcome="rolled-back")

    def _undo(self, name: str, *, outcome: str) -> None:
        with self._lock:
            entry = self._active.pop(name, None)
        if entry is None:
            return
        action = next(a for a in self._actions if a.name == name)
        try:
            self._undo_action(action)
        except Exception as exc:
            entry.undo_error = f"{_UNDO_KIND[action.action]} failed: {type(exc).__name__}: {exc}"
        entry.outcome, entry.ended_at = outcome, self._clock()
        self._notify(entry)

    def _notify(self, entry: JournalEntry) -> None:
        if self._on_change is not None:
            with contextlib.suppress(Exception):  # a listener never stops a fault being undone
                self._on_change(JournalEntry(**asdict(entry)))

    # -- actions -------------------------------------------------------
    def _toxic_name(self, action: Action) -> str:
        return "chaos-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", action.name).strip("-")

    def _do(self, action: Action) -> None:
        if action.link is not None:
            assert self._toxiproxy is not None
            if action.action == "toxic":
                assert action.toxic is not None
                self._toxiproxy.add_toxic(
                    action.link,
                    self._toxic_name(action),
                    action.toxic.type,
                    stream=action.toxic.stream,
                    toxicity=action.toxic.toxicity,
                    attributes=dict(action.toxic.attributes),
                )
            elif action.action == "down":
                self._toxiproxy.disable(action.link)
            elif action.action == "enable":
                self._toxiproxy.enable(action.link)
            return
        assert self._platform is not None and action.process is not None
        getattr(self._platform, action.action)(action.process)

    def _undo_action(self, action: Action) -> None:
        if action.link is not None:
            assert self._toxiproxy is not None
            if action.action == "toxic":
                self._toxiproxy.remove_toxic(action.link, self._toxic_name(action))
            else:
                self._toxiproxy.enable(action.link)
            return
        assert self._platform is not None and action.process is not None
        if action.action == "kill":
            self._platform.restart(action.process)
        else:
            self._platform.thaw(action.process)

    # -- rollback --------------------------------------------------------
    def rollback(self) -> None:
        """Undo every active fault, run the experiment's rollbacks, then the client's own rollback.

        Idempotent, never raises (failures are journalled), and holds off a
        second Ctrl-C while it runs so a nervous operator cannot leave a toxic behind.
        """
        with signals_ignored():
            with self._lock:
                self._closed = True
                active = list(self._active)
            for name in reversed(active):  # undo in reverse order of injection
                self._undo(name, outcome="rolled-back")
            for action in self._rollbacks:
                entry = JournalEntry(action.name, action.action, action.target, "rollback", 0.0, None)
                entry.started_at = self._clock()
                try:
                    self._do(action)
                    entry.outcome = "done"
                except Exception as exc:
                    entry.outcome, entry.error = "failed", f"{type(exc).__name__}: {exc}"
                entry.ended_at = self._clock()
                self._rollback_entries.append(entry)
            client_rollback = getattr(self._toxiproxy, "rollback", None)
            if callable(client_rollback):
                try:
                    client_rollback()
                except Exception as exc:
                    entry = JournalEntry("toxiproxy rollback", "rollback", "toxiproxy", "rollback", 0.0, None)
                    entry.outcome, entry.error = "failed", f"{type(exc).__name__}: {exc}"
                    self._rollback_entries.append(entry)
            self._rollbacks = []

    # -- results -----------------------------------------------------------
    @property
    def journal(self) -> list[JournalEntry]:
        """Every method action in schedule order, then the rollback actions."""
        with self._lock:
            method = sorted(self._entries.values(), key=lambda e: (e.planned_start, e.action))
            return [JournalEntry(**asdict(e)) for e in (*method, *self._rollback_entries)]

    def fault_windows(self) -> list[FaultWindow]:
        """When each injected fault was actually active, for failover measurement."""
        by_name = {a.name: a for a in self._actions}
        windows = []
        for entry in self.journal:
            action = by_name.get(entry.action)
            if entry.phase != "method" or action is None or not action.is_fault or entry.started_at is None:
                continue
            if entry.outcome == "failed":
                continue
            windows.append(
                FaultWindow(entry.action, entry.target, entry.kind, entry.started_at, entry.ended_at, action.judge)
            )
        return windows
