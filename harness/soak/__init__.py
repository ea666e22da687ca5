"""`harness soak`: a steady load for an hour, judged window by window, with every process's memory watched.

    result = run_soak(SoakConfig(duration_s=3600, rps=1000, snapshot_every_s=300))

See `harness.soak._run` for the flow and docs/soak.md for the command SREs run.
"""

from __future__ import annotations

from harness.soak._memory import harness_pids, leak_checks
from harness.soak._run import SoakConfig, run_soak
from harness.soak._window import Snapshot, SnapshotWindows

__all__ = ["SoakConfig", "Snapshot", "SnapshotWindows", "harness_pids", "leak_checks", "run_soak"]
