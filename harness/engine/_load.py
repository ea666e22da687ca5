"""Load for any kind of run: one set of defaults, and the load's own integrity verdict.

Every run drives Locust the same way (`harness.load.run_locust`, one process
or a master and N local workers) with the same defaults, and every load
comes back with a `load-integrity` check: a stage judged on samples that
Locust lost (a killed worker, a master killed at its deadline, no verdict
written) is INCONCLUSIVE naming what was lost, never a silent PASS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness._exceptions import ConfigError
from harness._verdicts import Check, Verdict
from harness.slo._defaults import DEFAULT_MIN_SAMPLES

if TYPE_CHECKING:
    from harness.load import LocustRun

__all__ = ["DEFAULT_LOCUSTFILE", "LoadSettings", "integrity_check"]

DEFAULT_LOCUSTFILE = Path("scenarios/xynergy_platform.py")
"""The scenario every run uses unless `--locustfile` says otherwise (the one place naming it)."""


@dataclass(frozen=True)
class LoadSettings:
    """How every run drives its load; the flags `--locustfile --users --workers --min-samples`."""

    locustfile: Path = DEFAULT_LOCUSTFILE
    users: int = 0
    """Locust users (0: `default_users(rps)`)."""
    workers: int = 0
    """0: one Locust process; N: a master and N local workers."""
    min_samples: int = DEFAULT_MIN_SAMPLES
    """Fewest samples an SLO verdict may rest on (fewer: INCONCLUSIVE)."""
    slo_dir: Path = Path("slos")
    monitoring_interval: float = 0.0
    """Live Cloud Monitoring export period while load runs (0: off)."""
    live: bool = True
    """Show the live progress display."""

    def users_for(self, rps: float) -> int:
        """Users for a target rate: one per 10 req/s, at least 5 (so a request waiting out a
        blackholed link does not stall the whole schedule), at most 200.

        Measured, not guessed: one user per 2 req/s (the game day's old default) put a
        healthy canary's p95 at 760 ms at 60 req/s on a loaded 2-core machine (load 9),
        where one per 10 req/s passed under the same load.
        """
        return self.users or max(5, min(200, math.ceil(rps / 10)))

    def validate(self) -> None:
        """Reject bad settings before anything starts; errors name the flag."""
        if not self.locustfile.is_file():
            raise ConfigError("locustfile not found", source=str(self.locustfile), field="--locustfile")
        if not 0 <= self.workers <= 64:
            raise ConfigError(f"must be 0 (one process) to 64, got {self.workers}", field="--workers")
        if self.users < 0:
            raise ConfigError(f"must be zero (automatic) or positive, got {self.users}", field="--users")
        if self.min_samples < 1:
            raise ConfigError(f"must be at least 1, got {self.min_samples}", field="--min-samples")
        if not math.isfinite(self.monitoring_interval) or self.monitoring_interval < 0:
            raise ConfigError(f"must be zero (off) or positive, got {self.monitoring_interval}",
                              field="--monitoring-interval")


def integrity_check(run: LocustRun, rows: int, workers: int) -> Check:
    """`load-integrity` of one finished `LocustRun`: PASS only when nothing was lost.

    Looks at what the load itself reports: the master's exit code, each
    worker's exit code, and the `samples-complete` check of Locust's
    `verdict.json` (every worker's final count arrived in full).
    """
    problems: list[str] = []
    if run.killed:
        problems.append(f"Locust did not stop by its deadline and was killed after {run.duration_s:.0f} s")
    code = run.master_exit_code
    if code is not None and code not in (0, 1, 2):
        problems.append(f"the Locust master exited with code {code}")
    for i, wcode in enumerate(run.worker_exit_codes):
        if wcode != 0:
            problems.append(f"worker {i} exited with code {wcode}")
    verdict = run.verdict()
    if verdict is None:
        problems.append(f"Locust wrote no verdict (see {run.log_file})")
    else:
        for c in verdict.get("checks", []):
            if c.get("name") == "samples-complete" and c.get("verdict") != "pass":
                lost = c.get("detail") or "incomplete"
                problems.append(f"samples lost: {lost} ({int(c.get('value') or 0)} received)")
    if not run.samples_file.exists():
        problems.append("no samples file")
    return Check(
        name="load-integrity", verdict=Verdict.INCONCLUSIVE if problems else Verdict.PASS, value=float(rows),
        objective=None, op="gte", samples=rows, scope="load", kind="slo",
        detail="; ".join(problems) or (f"every sample the load generator captured was delivered"
                                       f"{f' ({workers} workers)' if workers else ''}"),
    )  # fmt: skip
