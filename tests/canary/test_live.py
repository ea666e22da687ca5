"""The rollout's live stage table is kept from the rows each flush carries, never by re-reading the file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from rich.console import Console

from harness.canary._live import StageProgress


def _rows(revision: str, n: int, failures: int, t0: float) -> pd.DataFrame:
    return pd.DataFrame({
        "ts": [t0 + i * 0.5 for i in range(n)], "revision": [revision] * n,
        "ok": [i >= failures for i in range(n)], "latency_ms": [10.0 + i for i in range(n)],
    })  # fmt: skip


def test_counts_accumulate_across_flushes_and_only_the_last_seconds_are_kept(tmp_path: Path) -> None:
    console = Console(record=True, width=120, force_terminal=False)
    progress = StageProgress(console, "stage 10 %", 60, 10, tmp_path / "absent.arrow", [])
    with progress:
        progress.add(_rows("baseline", 60, 0, 1000.0))  # 30 s of baseline rows
        progress.add(_rows("canary", 10, 2, 1030.0))
        progress.add(None)  # a flush without rows changes nothing
    text = console.export_text()
    assert "baseline" in text and "canary" in text
    assert "20.00%" in text  # 2 of the canary's 10 failed, counted across both flushes
    assert "60" in text  # every baseline row counted, though only the last 10 s are kept
    assert progress._recent is not None and float(progress._recent["ts"].min()) >= 1034.5 - 10.0
