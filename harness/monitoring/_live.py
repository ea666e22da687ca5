"""Live export: a snapshot of the current checks every N seconds while a stage runs.

One daemon thread, owned by a context manager: it starts on enter, and on
exit it is told to stop and joined (within the exporter's time budget), so a
stage never waits on Cloud Monitoring for longer than that. Live points carry
`phase="live"`, so they never collide with the stage's final points (Cloud
Monitoring takes one point per series per 5 s and only in time order).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from harness._verdicts import Check
from harness.monitoring._export import ExportResult, MonitoringExporter

__all__ = ["LiveExport", "samples_snapshot"]

if TYPE_CHECKING:
    from harness.slo import SLO

log = logging.getLogger("harness.monitoring")


def samples_snapshot(
    samples_file: str | Path, slos: Sequence[SLO], *, min_samples: int = 30
) -> Callable[[], list[Check]]:
    """A `LiveExport` snapshot: the samples-based (`harness`) SLOs over the rows written so far.

    `cloud-monitoring` SLOs are left out (querying the API every tick would
    spend quota for data that lags by minutes anyway). Before the first rows
    are flushed it returns no checks, and that tick exports nothing.
    """
    from harness.samples import read_samples
    from harness.slo import evaluate

    own = [slo for slo in slos if slo.indicator.source.type == "harness"]
    path = Path(samples_file)

    def snapshot() -> list[Check]:
        if not own or not path.exists():
            return []
        samples = read_samples(path)
        return evaluate(own, samples, min_samples=min_samples) if len(samples) else []

    return snapshot


class LiveExport:
    """Export `snapshot()` every `interval` seconds until closed.

    `snapshot` returns the checks as they stand (e.g. SLIs over the samples
    so far); an exception in it is logged and that tick skipped. `results`
    keeps every tick's `ExportResult` for the report.

    ```python
    with LiveExport(exporter, current_checks, interval=30, run_id="r1", stage="10", scenario="platform"):
        run_stage()
    ```
    """

    def __init__(
        self,
        exporter: MonitoringExporter,
        snapshot: Callable[[], Sequence[Check]],
        *,
        interval: float,
        run_id: str,
        stage: str,
        scenario: str,
        kind: str = "rollout",
        max_ticks: int = 10_000,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval}")
        self._exporter = exporter
        self._snapshot = snapshot
        self._interval = interval
        self._labels = (run_id, stage, scenario, kind)
        self._max_ticks = max_ticks
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_end = 0.0
        self.results: list[ExportResult] = []
        """One result per tick that exported something."""

    def start(self) -> LiveExport:
        """Start the thread (no-op when the exporter is disabled)."""
        if self._exporter.enabled and self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="monitoring-live-export", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Stop ticking and wait for an export in flight (at most `timeout` seconds)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("live monitoring export still busy after %.1fs; left to finish on its own", timeout or 0)

    def _loop(self) -> None:
        ticks = 0
        while ticks < self._max_ticks and not self._stop.wait(self._interval):
            ticks += 1
            self.tick()

    def tick(self) -> ExportResult | None:
        """Export one snapshot now; None when the snapshot failed or was empty."""
        try:
            checks = list(self._snapshot())
        except Exception:  # noqa: BLE001 - a broken snapshot must not kill the run
            log.exception("live monitoring export: snapshot failed; tick skipped")
            return None
        if not checks:
            return None
        # Points of one series must go strictly forward in time.
        end = max(time.time(), self._last_end + 0.001)
        self._last_end = end
        run_id, stage, scenario, kind = self._labels
        result = self._exporter.export_checks(
            checks, run_id=run_id, stage=stage, scenario=scenario, kind=kind, end_time=end,
            phase="live", require_export=False,
        )
        self.results.append(result)
        return result

    def __enter__(self) -> LiveExport:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop(timeout=self._exporter.timeout + 1.0)
