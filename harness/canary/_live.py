"""Live progress of a run in the terminal (rich), as listeners of the run's events.

From the first second: the platform start with each process as it becomes
ready (`follow_platform_start`); then, per rollout stage, the Locust
subprocess streams samples to disk and every `samples_flushed` event carries
the rows just read, from which this shows stage, elapsed time, current RPS,
p95 and error ratio per revision, and the verdicts so far; the last frame
stays on screen.
`RollbackTally` collects what the run undid, for the final lines.

    follow_platform_start(engine.events, console, live=True)
    follow_stages(engine.events, console, history)
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from harness.engine import Events, FaultRemoved, RunFinished, SamplesFlushed, StageFinished, StageStarted, WeightSet
from harness.topology._platform import StartProgress

__all__ = ["PlatformStart", "RollbackTally", "StageProgress", "follow_platform_start", "follow_stage_lines",
           "follow_stages"]


class StageProgress:
    """A `rich.live.Live` panel for one stage, kept from the rows each `samples_flushed` carries.

    Counts per revision accumulate; only the last 10 s of rows are kept for
    the rate and p95, so a refresh costs the same at the end of a stage as at
    its start and never re-reads the samples file (its CPU is the load
    generator's host's CPU).
    """

    RECENT_S = 10.0

    def __init__(self, console: Console, title: str, duration_s: float, warmup_s: float, samples: Path,
                 history: list[str]) -> None:
        self.console, self.title, self.samples = console, title, samples
        self.total = duration_s + warmup_s
        self.warmup = warmup_s
        self.history = history
        self.started = time.time()
        self._counts: dict[str, list[int]] = {}  # revision → [requests, failures]
        self._recent: pd.DataFrame | None = None
        self._live = Live(self._render(), console=console, refresh_per_second=2, transient=False)

    def __enter__(self) -> StageProgress:
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.refresh()  # the final frame stays on screen: transient=False
        self._live.__exit__(None, None, None)

    def add(self, rows: pd.DataFrame | None) -> None:
        """Count the rows just read; keep the last `RECENT_S` seconds of them."""
        if rows is None or not len(rows) or not {"ts", "revision", "ok", "latency_ms"} <= set(rows.columns):
            return
        rows = rows[["ts", "revision", "ok", "latency_ms"]]
        for revision, group in rows.groupby(rows["revision"].astype(str), sort=False):
            counts = self._counts.setdefault(str(revision), [0, 0])
            counts[0] += len(group)
            counts[1] += int((~group["ok"].astype(bool)).sum())
        recent = rows if self._recent is None else pd.concat([self._recent, rows], ignore_index=True)
        self._recent = recent[recent["ts"] >= float(recent["ts"].max()) - self.RECENT_S]

    def refresh(self) -> None:
        self._live.update(self._render())

    def _render(self) -> Group:
        elapsed = time.time() - self.started
        phase = "warm-up" if elapsed < self.warmup else "judged"
        head = Text.assemble(
            (f"{self.title} ", "bold"),
            f"{phase} · {min(elapsed, self.total):.0f}/{self.total:.0f} s · ",
            ("verdicts so far: " + (", ".join(self.history) or "none yet"), "dim"),
        )
        table = Table(box=None, pad_edge=False)
        for col in ("revision", "requests", "rps (last 5 s)", "p95 ms (last 10 s)", "error ratio"):
            table.add_column(col, justify="left" if col == "revision" else "right")
        recent = self._recent
        now = float(recent["ts"].max()) if recent is not None and len(recent) else 0.0
        for revision, (requests, failures) in sorted(self._counts.items()):
            mine = recent[recent["revision"].astype(str) == revision] if recent is not None else None
            last5 = 0 if mine is None else int((mine["ts"] >= now - 5).sum())
            window = mine[mine["ok"].astype(bool)] if mine is not None else None
            p95 = float(np.quantile(window["latency_ms"], 0.95)) if window is not None and len(window) else float("nan")
            table.add_row(revision or "?", str(requests), f"{last5 / 5:.0f}", f"{p95:.1f}", f"{failures / requests:.2%}")
        return Group(head, table)


def follow_stages(events: Events, console: Console, history: list[str]) -> None:
    """Show a `StageProgress` for every stage (canary weight, steady state, chaos) of the run `events` belong to."""
    current: list[StageProgress] = []

    def started(e: StageStarted) -> None:
        title = f"stage {e.weight} %" if e.weight is not None and e.name.isdigit() else e.name
        progress = StageProgress(console, title, e.planned_s - e.warmup_s, e.warmup_s, e.samples, history)
        current.append(progress.__enter__())

    def flushed(e: SamplesFlushed) -> None:
        for progress in current:
            progress.add(e.new)
            progress.refresh()

    def finished(e: StageFinished) -> None:
        while current:
            current.pop().__exit__()

    events.stage_started.add_listener(started)
    events.samples_flushed.add_listener(flushed)
    events.stage_finished.add_listener(finished)


def follow_stage_lines(events: Events, console: Console) -> None:
    """`--no-live`: one plain line as each stage starts and when the evidence decided it, for logs and CI."""

    def started(e: StageStarted) -> None:
        title = f"stage {e.weight} %" if e.weight is not None and e.name.isdigit() else e.name
        warmup = f"{e.warmup_s:g} s warm-up + " if e.warmup_s else ""
        console.print(f"{title}: started, {warmup}up to {e.planned_s - e.warmup_s:g} s judged", highlight=False,
                      markup=False, soft_wrap=True)  # one line each, for logs

    def finished(e: StageFinished) -> None:
        if e.decided_after_s is not None:
            title = f"stage {e.name} %" if e.name.isdigit() else e.name
            console.print(f"{title}: the evidence decided after {e.decided_after_s:.0f} s of load", highlight=False,
                          markup=False, soft_wrap=True)

    events.stage_started.add_listener(started)
    events.stage_finished.add_listener(finished)


class PlatformStart:
    """The platform start as it happens: `starting 9 processes…`, then each one as it is ready.

    Live: one line updated in place, replaced by a summary when all are up.
    Plain (`live=False`): one line per process, for logs and CI.
    """

    def __init__(self, console: Console, *, live: bool) -> None:
        self.console, self.live = console, live
        self.ready: list[tuple[str, float]] = []
        self.total = 0
        self.began = 0.0
        self._display: Live | None = None
        self._lock = threading.RLock()  # processes start in parallel threads; close() may come from another

    def __call__(self, e: StartProgress) -> None:
        with self._lock:
            self._step(e)

    def _step(self, e: StartProgress) -> None:
        if e.state == "starting":
            self.total, self.began = e.total, e.ts
            if self.live:
                self._display = Live(self._line(), console=self.console, refresh_per_second=4, transient=True)
                self._display.start()
            else:
                self._say(f"starting {_processes(e.total)}…")
            return
        self.total = e.total
        self.ready.append((e.instance, e.ready_s or 0.0))
        if self._display is not None:
            self._display.update(self._line())
        else:
            self._say(f"  {e.instance} ready {e.ready_s or 0.0:.1f} s ({e.done}/{e.total})")
        if e.done >= e.total:
            self.close()
            slowest = max(self.ready, key=lambda r: r[1])
            self._say(f"platform up: {_processes(e.total)} ready in {e.ts - self.began:.1f} s "
                      f"(slowest {slowest[0]} {slowest[1]:.1f} s)")

    def close(self) -> None:
        """Stop the live line (the start failed or finished)."""
        with self._lock:
            if self._display is not None:
                self._display.stop()
                self._display = None

    def _line(self) -> Text:
        done = ", ".join(f"{name} ready {s:.1f} s" for name, s in self.ready[-3:])
        return Text.assemble((f"starting {_processes(self.total)}… ", "bold"), f"{len(self.ready)}/{self.total} ready",
                             (f" · {done}" if done else "", "dim"))

    def _say(self, line: str) -> None:
        self.console.print(line, highlight=False, markup=False, soft_wrap=True)


def _processes(n: int) -> str:
    return f"{n} process" if n == 1 else f"{n} processes"


def follow_platform_start(events: Events, console: Console, *, live: bool) -> PlatformStart:
    """Show the embedded platform's start (nothing for an attached one: it is already up)."""
    display = PlatformStart(console, live=live)
    events.platform_progress.add_listener(display)
    events.stage_started.add_listener(lambda e: display.close())
    events.run_finished.add_listener(lambda e: display.close())
    return display


class RollbackTally:
    """What a run undid on its way out, from its events: the canary weight, the faults, the traffic split.

    `lines(not_run)` are the run's final words: `canary weight set back to 0 %,
    1 fault removed` and `100 %: not run` for every stage that never ran.
    """

    def __init__(self, events: Events) -> None:
        self.rollback_to: int | None = None
        self.restored_to: int | None = None
        self.removed: dict[str, int] = {}
        self.finished: RunFinished | None = None
        events.weight_set.add_listener(self._weight)
        events.fault_removed.add_listener(self._fault)
        events.run_finished.add_listener(self._finished)

    def _weight(self, e: WeightSet) -> None:
        if e.reason == "rollback":
            self.rollback_to = e.percent
        elif e.reason == "restore":
            self.restored_to = e.percent

    def _fault(self, e: FaultRemoved) -> None:
        self.removed[e.outcome] = self.removed.get(e.outcome, 0) + 1

    def _finished(self, e: RunFinished) -> None:
        self.finished = e

    def lines(self, not_run: list[str] | None = None) -> list[str]:
        undone: list[str] = []
        if self.rollback_to is not None:
            undone.append(f"canary weight set back to {self.rollback_to} %")
        elif self.restored_to is not None and self.finished is not None and not self.finished.complete:
            undone.append(f"traffic split restored to {self.restored_to} % (as found)")
        count = sum(n for outcome, n in self.removed.items() if outcome != "failed")
        if count:
            how = ", ".join(f"{n} {'on schedule' if o == 'undone' else 'by the rollback'}"
                            for o, n in sorted(self.removed.items()) if o != "failed")
            undone.append(f"{count} fault{'s' if count > 1 else ''} removed ({how})")
        if self.removed.get("failed"):
            undone.append(f"{self.removed['failed']} fault removal(s) FAILED: see the report")
        out = ["undone: " + ", ".join(undone)] if undone else []
        out += [f"{what}: not run" for what in not_run or []]
        return out
