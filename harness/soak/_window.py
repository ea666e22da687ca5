"""The soak's snapshot windows: the samples of the current window only, judged when it closes.

A soak runs one Locust for the whole duration; its samples file grows for an
hour. The orchestrator reads only the batches appended since its last look
(`BatchTail`), keeps only the columns the SLOs read, and only until the
window they fall in is judged: memory is one window's rows, whatever the
duration.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from harness._verdicts import Check, Verdict, combine_verdicts, json_safe
from harness.samples import SCHEMA
from harness.slo import SLO, evaluate
from harness.slo._evaluate import needed_columns
from harness.stats import SLO_ALPHA, settle_at_max_duration

__all__ = ["WHOLE_RUN_ALPHA", "Snapshot", "SnapshotWindows"]


@dataclass(frozen=True)
class Snapshot:
    """One window's verdict: the SLOs judged over the samples started inside [start, end)."""

    index: int
    start: float
    end: float
    samples: int
    checks: list[Check]
    partial: bool = False
    """The run stopped inside this window (it is shorter than the others)."""

    @property
    def verdict(self) -> Verdict:
        return combine_verdicts(c.verdict for c in self.checks) if self.checks else Verdict.INCONCLUSIVE

    def to_dict(self, t0: float) -> dict[str, Any]:
        data = {"index": self.index, "start": self.start, "end": self.end, "t_start_s": round(self.start - t0, 3),
                "t_end_s": round(self.end - t0, 3), "samples": self.samples, "partial": self.partial,
                "verdict": self.verdict.value, "checks": [c.to_dict() for c in self.checks]}  # fmt: skip
        return dict(json_safe(data))

    def line(self, t0: float) -> str:
        """One terminal line: when, how many samples, the verdict, what did not pass."""
        worst = [f"{c.name} ({c.scope}) {c.verdict.value}" for c in self.checks if c.verdict is not Verdict.PASS]
        span = f"{_clock(self.start - t0)}-{_clock(self.end - t0)}"
        return (f"snapshot {self.index + 1} [{span}{' partial' if self.partial else ''}]: {self.verdict.value.upper()} "
                f"on {self.samples:,} samples" + (f"; {', '.join(worst[:4])}" if worst else ""))


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60:02d}:{seconds % 60:02d}" if seconds < 3600 else f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


#: The whole run's share of the false-FAIL budget; the windows share the rest.
WHOLE_RUN_ALPHA = SLO_ALPHA / 2


@dataclass
class SnapshotWindows:
    """Windows of `every_s` from `t0`; `add` new batches, `due(now)` judges every window that has closed.

    Each window is judged with half the run's `alpha` split evenly over the
    planned windows (Bonferroni; the whole run's judgement at the end gets the
    other half), so looking every few minutes for an hour does not multiply
    the false-FAIL rate of the run. A window that ran its whole length is its
    own last look: undecided checks leaning the good way are settled as at a
    stage's maximum duration (`harness.stats.settle_at_max_duration`).
    """

    slos: Sequence[SLO]
    t0: float
    every_s: float
    duration_s: float
    min_samples: int
    target_rps: float | None = None
    flush_lag_s: float = 2.0
    """A window is judged this long after it closes: Locust flushes its rows about once a second."""
    _rows: list[pa.Table] = field(default_factory=list)
    _next: int = 0

    def __post_init__(self) -> None:
        self.columns = needed_columns(self.slos, health_check=True) or ["ts"]
        self.planned = max(1, math.ceil(self.duration_s / self.every_s))
        self.alpha = SLO_ALPHA / 2 / self.planned  # the other half: the whole run's judgement (WHOLE_RUN_ALPHA)

    def add(self, batches: Sequence[pa.RecordBatch]) -> None:
        """Keep the SLOs' columns of new batches (copies: nothing of the batch stays alive)."""
        for batch in batches:
            if batch.num_rows:
                table = pa.Table.from_batches([batch]).select(self.columns)
                self._rows.append(pa.Table.from_arrays([pa.concat_arrays(c.chunks) for c in table.columns],
                                                       schema=table.schema))

    @property
    def held_rows(self) -> int:
        """Rows waiting for their window to close (the whole in-memory state)."""
        return sum(t.num_rows for t in self._rows)

    def window(self, index: int) -> tuple[float, float]:
        """The index-th window; the last ends with the run (a duration not a multiple of `every_s`)."""
        return self.t0 + index * self.every_s, min(self.t0 + (index + 1) * self.every_s, self.t0 + self.duration_s)

    def due(self, now: float) -> list[Snapshot]:
        """Judge every window that closed at least `flush_lag_s` before `now`."""
        out = []
        while self._next < self.planned and self.window(self._next)[1] + self.flush_lag_s <= now:
            out.append(self._judge(self._next, partial=False))
            self._next += 1
        return out

    def rest(self, ended: float) -> list[Snapshot]:
        """At the end: every window not judged yet that has samples (the last one `partial` when cut short)."""
        out = []
        while self._next < self.planned:
            start, end = self.window(self._next)
            if start >= ended and not self.held_rows:
                break
            snap = self._judge(self._next, partial=end > ended + self.flush_lag_s)
            self._next += 1
            if snap.samples or not snap.partial:
                out.append(snap)
        return out

    def _judge(self, index: int, *, partial: bool) -> Snapshot:
        start, end = self.window(index)
        last = index == self.planned - 1
        table = pa.concat_tables(self._rows) if self._rows else SCHEMA.empty_table().select(self.columns)
        ts = table.column("ts")
        inside = pc.less(ts, end) if not last else pc.is_valid(ts)  # the last window takes the stragglers
        frame: pd.DataFrame = table.filter(inside).to_pandas()
        rest = table.filter(pc.invert(inside))
        self._rows = [rest] if rest.num_rows else []
        checks = evaluate(self.slos, frame, min_samples=self.min_samples, alpha=self.alpha, health_check=True,
                          target_rps=self.target_rps) if len(frame) else []  # fmt: skip
        if not partial:  # the window ran its whole length: its last look, settled as a stage's is
            checks = settle_at_max_duration(checks)
        return Snapshot(index, start, end, len(frame), checks, partial)
