"""Resource sampling of real processes, and telling a leak from a steady service."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.topology._process import Spawner
from harness.topology._resources import MEMORY_BUDGET_BYTES, ResourceSampler, memory_growth

MiB = 1024 * 1024
GROWER = "import time\nkeep = []\nprint('go', flush=True)\nwhile True:\n    keep.append(bytearray(4 * 1024 * 1024)); time.sleep(0.1)"
STEADY = "import time\nkeep = bytearray(16 * 1024 * 1024)\nprint('go', flush=True)\ntime.sleep(60)"


@pytest.mark.slow
def test_a_process_that_grows_is_flagged_and_a_steady_one_is_not(tmp_path: Path) -> None:
    spawner = Spawner(tmp_path)
    kids = {"grower": spawner.spawn("grower", [sys.executable, "-c", GROWER]),
            "steady": spawner.spawn("steady", [sys.executable, "-c", STEADY])}
    sampler = ResourceSampler(lambda: {n: c.pid for n, c in kids.items() if c.alive()}, interval=0.1)
    try:
        sampler.start()
        time.sleep(2.5)
    finally:
        sampler.stop()
        for c in kids.values():
            c.stop(grace=2)
        spawner.close()
    frame = sampler.frame()
    assert list(frame.columns) == ["ts", "instance", "pid", "rss_bytes", "cpu_percent"]
    assert set(frame["instance"]) == {"grower", "steady"}
    assert (frame.groupby("instance")["rss_bytes"].max() > 10 * MiB).all()
    # ~40 MiB/s (even a CPU-starved 5 MiB/s) reaches 512 MiB within 120 s; the steady process never does
    growth = {g.instance: g for g in memory_growth(frame, warmup_s=0.5, horizon_s=120)}
    assert growth["grower"].slope_bytes_per_s > 10 * MiB
    assert growth["grower"].leak_suspected
    assert not growth["steady"].leak_suspected
    assert abs(growth["steady"].slope_bytes_per_s) < 1 * MiB


def test_one_spike_does_not_read_as_a_leak() -> None:
    ts = np.arange(60.0)
    rss = np.full(60, 100 * MiB)
    rss[30] = 400 * MiB  # one GC-less moment
    frame = pd.DataFrame({"ts": ts, "instance": "svc", "pid": 1, "rss_bytes": rss, "cpu_percent": 1.0})
    (g,) = memory_growth(frame, warmup_s=5)
    assert g.slope_bytes_per_s == 0 and not g.leak_suspected


def test_rss_over_the_budget_is_flagged_even_when_flat() -> None:
    frame = pd.DataFrame({"ts": np.arange(20.0), "instance": "svc", "pid": 1,
                          "rss_bytes": MEMORY_BUDGET_BYTES + MiB, "cpu_percent": 0.0})
    (g,) = memory_growth(frame, warmup_s=1)
    assert g.over_budget and g.leak_suspected


def test_a_restart_starts_the_memory_trend_afresh() -> None:
    old = pd.DataFrame({"ts": np.arange(10.0), "instance": "svc", "pid": 1, "rss_bytes": np.arange(10) * 50 * MiB})
    new = pd.DataFrame({"ts": np.arange(10.0, 30.0), "instance": "svc", "pid": 2, "rss_bytes": 80 * MiB})
    frame = pd.concat([old, new]).assign(cpu_percent=0.0)
    (g,) = memory_growth(frame, warmup_s=1)
    assert g.slope_bytes_per_s == 0 and not g.leak_suspected and g.rss_last_bytes == 80 * MiB
