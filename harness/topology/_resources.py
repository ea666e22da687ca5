"""RSS and CPU of every spawned process, once a second, and a memory-growth estimate.

The sampler is a daemon thread that appends plain dicts (pandas-ready rows);
`memory_growth` fits a robust slope (Theil-Sen) to RSS after a warm-up, so one
GC spike does not read as a leak, and flags instances that would cross the
review's 512 MiB container budget.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass

import pandas as pd
import psutil

__all__ = ["MEMORY_BUDGET_BYTES", "MemoryGrowth", "ResourceSampler", "memory_growth"]

#: The review's container memory limit (`memory: "512Mi"`).
MEMORY_BUDGET_BYTES = 512 * 1024 * 1024

COLUMNS = ["ts", "instance", "pid", "rss_bytes", "cpu_percent"]


class ResourceSampler:
    """Samples `pids()` (instance name → pid) every `interval` seconds until stopped."""

    def __init__(self, pids: Callable[[], Mapping[str, int]], interval: float = 1.0) -> None:
        self._pids = pids
        self.interval = interval
        self._rows: list[dict[str, object]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._procs: dict[int, psutil.Process] = {}
        self._thread = threading.Thread(target=self._run, name="harness-resources", daemon=True)

    def start(self) -> ResourceSampler:
        self.sample()  # primes cpu_percent and gives an immediate first row
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval + 2)

    def rows(self) -> list[dict[str, object]]:
        """A copy of every row so far."""
        with self._lock:
            return list(self._rows)

    def frame(self) -> pd.DataFrame:
        """Every row so far as a DataFrame with columns `COLUMNS`."""
        return pd.DataFrame(self.rows(), columns=COLUMNS)

    def sample(self) -> None:
        """Take one sample of every current pid (vanished processes are skipped)."""
        now = time.time()
        current = dict(self._pids())
        rows = []
        for name, pid in current.items():
            proc = self._procs.get(pid)
            try:
                if proc is None:
                    proc = self._procs[pid] = psutil.Process(pid)
                    proc.cpu_percent(None)
                with proc.oneshot():
                    rss = proc.memory_info().rss
                    cpu = proc.cpu_percent(None)
            except psutil.Error:
                self._procs.pop(pid, None)
                continue
            rows.append({"ts": now, "instance": name, "pid": pid, "rss_bytes": int(rss), "cpu_percent": float(cpu)})
        live = set(current.values())
        for pid in list(self._procs):
            if pid not in live:
                del self._procs[pid]
        with self._lock:
            self._rows.extend(rows)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()


@dataclass(frozen=True)
class MemoryGrowth:
    """Memory trend of one instance after warm-up.

    `slope_bytes_per_s` is the Theil-Sen slope of RSS; `seconds_to_budget` the
    projected time until RSS reaches the budget (None when not growing);
    `leak_suspected` when the lower confidence bound of the slope is above
    `min_slope` (growth is real, not noise) and the budget would be reached
    within `horizon_s`, or RSS is over budget already.
    """

    instance: str
    samples: int
    rss_last_bytes: int
    slope_bytes_per_s: float
    slope_low_bytes_per_s: float
    seconds_to_budget: float | None
    over_budget: bool
    leak_suspected: bool

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def memory_growth(
    frame: pd.DataFrame,
    *,
    warmup_s: float = 5.0,
    budget_bytes: int = MEMORY_BUDGET_BYTES,
    horizon_s: float = 3600.0,
    min_slope: float = 1024.0,
) -> list[MemoryGrowth]:
    """Per instance: the RSS slope after `warmup_s` and whether it looks like a leak."""
    from scipy import stats  # only the growth judgement needs it, not `harness status`

    out: list[MemoryGrowth] = []
    if frame.empty:
        return out
    for name, group in frame.groupby("instance", sort=True):
        group = group.sort_values("ts")
        # a restart resets memory: judge only the latest process of the instance
        group = group[group["pid"] == group["pid"].iloc[-1]]
        start = group["ts"].iloc[0] + warmup_s
        steady = group[group["ts"] >= start]
        last = int(group["rss_bytes"].iloc[-1])
        over = last >= budget_bytes
        if len(steady) < 3 or steady["ts"].nunique() < 3:
            out.append(MemoryGrowth(str(name), len(steady), last, 0.0, 0.0, None, over, over))
            continue
        t = steady["ts"].to_numpy(dtype=float) - float(steady["ts"].iloc[0])
        rss = steady["rss_bytes"].to_numpy(dtype=float)
        slope, _intercept, low, _high = stats.theilslopes(rss, t, alpha=0.95)
        to_budget = (budget_bytes - last) / slope if slope > 0 and not over else None
        suspected = over or (low > min_slope and to_budget is not None and to_budget <= horizon_s)
        out.append(
            MemoryGrowth(str(name), len(steady), last, float(slope), float(low), to_budget, over, bool(suspected))
        )
    return out
