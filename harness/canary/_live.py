"""Live progress of a rollout stage in the terminal (rich), as a listener of the run's events.

The Locust subprocess streams samples to disk; on every `samples_flushed`
event this re-reads that file and shows stage, elapsed time, current RPS,
p95 and error ratio per revision, and the verdicts so far.

    follow_stages(engine.events, console, history)
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from harness._exceptions import HarnessError
from harness.engine import Events, SamplesFlushed, StageFinished, StageStarted
from harness.samples import read_samples

__all__ = ["StageProgress", "follow_stages"]


class StageProgress:
    """A `rich.live.Live` panel for one stage; call `refresh()` about once a second."""

    def __init__(self, console: Console, title: str, duration_s: float, warmup_s: float, samples: Path,
                 history: list[str]) -> None:
        self.console, self.title, self.samples = console, title, samples
        self.total = duration_s + warmup_s
        self.warmup = warmup_s
        self.history = history
        self.started = time.time()
        self._live = Live(self._render(None), console=console, refresh_per_second=2, transient=True)

    def __enter__(self) -> StageProgress:
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.__exit__(None, None, None)

    def refresh(self) -> None:
        try:
            frame = read_samples(self.samples) if self.samples.exists() else None
        except (HarnessError, OSError):
            frame = None
        self._live.update(self._render(frame))

    def _render(self, frame: object) -> Group:
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
        import pandas as pd

        if isinstance(frame, pd.DataFrame) and len(frame):
            now = float(frame["ts"].max())
            for revision, group in frame.groupby("revision", sort=True):
                recent = group[group["ts"] >= now - 5]
                window = group[(group["ts"] >= now - 10) & group["ok"].astype(bool)]
                p95 = float(np.quantile(window["latency_ms"], 0.95)) if len(window) else float("nan")
                err = 1.0 - float(group["ok"].astype(bool).mean())
                table.add_row(str(revision) or "?", str(len(group)), f"{len(recent) / 5:.0f}", f"{p95:.1f}",
                              f"{err:.2%}")
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
            progress.refresh()

    def finished(e: StageFinished) -> None:
        while current:
            current.pop().__exit__()

    events.stage_started.add_listener(started)
    events.samples_flushed.add_listener(flushed)
    events.stage_finished.add_listener(finished)
