"""The soak's bounded state: one window of samples at a time, judged when it closes; leak verdicts per process."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness._verdicts import Verdict
from harness.engine._tail import BatchTail
from harness.samples import SampleWriter
from harness.slo import load_slos
from harness.soak import SnapshotWindows, harness_pids, leak_checks
from harness.soak._window import WHOLE_RUN_ALPHA
from harness.stats import SLO_ALPHA

SLOS = [s for s in load_slos(Path(__file__).resolve().parents[2] / "slos") if s.name in ("latency-p95", "error-ratio")]
T0 = 1_000_000.0


def _write(writer: SampleWriter, start: float, seconds: float, rate: float, latency: float = 10.0) -> None:
    for i in range(int(seconds * rate)):
        t = start + i / rate
        writer.add((t, t, "GET /", "GET", 200, True, "", latency, latency, 10, "baseline", "", "w0", "", ""))
    writer.flush()


def test_each_window_is_judged_once_when_it_closes_and_its_rows_are_then_dropped(tmp_path: Path) -> None:
    path = tmp_path / "samples.arrow"
    windows = SnapshotWindows(SLOS, T0, every_s=10.0, duration_s=30.0, min_samples=30)
    tail = BatchTail(path)
    with SampleWriter(path, flush_interval=3600) as writer:
        _write(writer, T0, 10.0, 50.0)
        _write(writer, T0 + 10.0, 5.0, 50.0)
        windows.add(tail.read_batches())
        assert windows.due(T0 + 10.0) == []  # closed, but Locust may still flush its last rows
        assert windows.held_rows == 750
        [first] = windows.due(T0 + 12.5)
        assert (first.index, first.samples, first.partial) == (0, 500, False)
        assert windows.held_rows == 250  # the judged window's rows are gone; the next window's stay
        assert {c.name for c in first.checks} >= {"latency-p95", "error-ratio"}
        assert first.verdict is Verdict.PASS
        assert all(c.confidence is None or c.confidence >= 1 - SLO_ALPHA / 3 for c in first.checks)
        _write(writer, T0 + 15.0, 5.0, 50.0, latency=900.0)  # the second window's tail is slow
        windows.add(tail.read_batches())
        [second] = windows.due(T0 + 23.0)
        assert second.samples == 500 and second.verdict is Verdict.FAIL
        [third] = windows.due(T0 + 100.0)  # a window without samples is a gap in the load: said, not skipped
        assert (third.samples, third.verdict) == (0, Verdict.INCONCLUSIVE)
        assert windows.due(T0 + 200.0) == [] and windows.rest(T0 + 200.0) == []  # nothing is judged twice
    assert windows.held_rows == 0


def test_a_run_stopped_inside_a_window_judges_it_as_partial(tmp_path: Path) -> None:
    path = tmp_path / "samples.arrow"
    windows = SnapshotWindows(SLOS, T0, every_s=10.0, duration_s=60.0, min_samples=30)
    with SampleWriter(path, flush_interval=3600) as writer:
        _write(writer, T0, 14.0, 20.0)
    windows.add(BatchTail(path).read_batches())
    first, second = windows.rest(T0 + 14.0)
    assert (first.partial, second.partial, first.samples, second.samples) == (False, True, 200, 80)
    assert "partial" in second.line(T0) and "00:10-00:20" in second.line(T0)


def test_the_windows_and_the_whole_run_share_one_alpha_and_the_last_window_ends_with_the_run(tmp_path: Path) -> None:
    windows = SnapshotWindows(SLOS, T0, every_s=300.0, duration_s=720.0, min_samples=30)  # 12 m in 5 m windows
    assert windows.planned == 3 and windows.alpha * windows.planned + WHOLE_RUN_ALPHA == pytest.approx(SLO_ALPHA)
    assert windows.window(2) == (T0 + 600.0, T0 + 720.0)
    path = tmp_path / "samples.arrow"
    with SampleWriter(path, flush_interval=3600) as writer:
        _write(writer, T0, 720.0, 1.0)
    windows.add(BatchTail(path).read_batches())
    snaps = windows.rest(T0 + 720.5)  # the run ended on time: its shorter last window is whole, not partial
    assert [(s.samples, s.partial) for s in snaps] == [(300, False), (300, False), (120, False)]


def _rss(instance: str, mib_per_h: float, seconds: int = 600, base_mib: float = 100.0) -> pd.DataFrame:
    t = np.arange(0, seconds, 5.0)
    rng = np.random.default_rng(1)
    rss = (base_mib + mib_per_h * t / 3600 + rng.normal(0, 0.3, len(t))) * 2**20
    return pd.DataFrame({"ts": T0 + t, "instance": instance, "pid": 42, "rss_bytes": rss.astype(int),
                         "cpu_percent": 1.0})


def test_a_growing_platform_process_fails_and_a_growing_harness_process_makes_the_soak_inconclusive() -> None:
    frame = pd.concat([_rss("edge", 0.0), _rss("ai-routing-engine", 4000.0)], ignore_index=True)
    checks = {c.scope: c for c in leak_checks(frame, warmup_s=30.0, harness=False)}
    assert checks["instance=edge"].verdict is Verdict.PASS
    assert checks["instance=ai-routing-engine"].verdict is Verdict.FAIL
    assert checks["instance=ai-routing-engine"].extra["slope_mib_per_h"] == pytest.approx(4000.0, rel=0.05)
    [own] = leak_checks(_rss("locust", 4000.0), warmup_s=30.0, harness=True)
    assert (own.name, own.scope, own.verdict) == ("harness-memory", "process=locust", Verdict.INCONCLUSIVE)
    [flat] = leak_checks(_rss("orchestrator", 5.0), warmup_s=30.0, harness=True)
    assert flat.verdict is Verdict.PASS and flat.unit == "MiB/h"


def test_the_harness_processes_are_this_process_and_its_locust_children() -> None:
    script = "import time; time.sleep(30)"
    master = subprocess.Popen([sys.executable, "-c", script, "-m", "locust"])
    worker = subprocess.Popen([sys.executable, "-c", script, "locust", "--worker"])
    other = subprocess.Popen([sys.executable, "-c", script])
    try:
        time.sleep(0.2)
        pids = harness_pids()
        assert pids["locust"] == master.pid and pids["locust-worker-0"] == worker.pid
        assert other.pid not in pids.values() and "orchestrator" in pids
    finally:
        for proc in (master, worker, other):
            proc.kill()
            proc.wait()


@pytest.mark.parametrize(("args", "flag"), [
    (["--duration", "0s"], "--duration"),
    (["--rps", "-5"], "--rps"),
    (["--duration", "30s", "--snapshot-every", "1m"], "--snapshot-every"),
    (["--duration", "30s", "--memory-warmup", "1m"], "--memory-warmup"),
    (["--locustfile", "no/such/file.py"], "--locustfile"),
])  # fmt: skip
def test_bad_flags_are_one_line_naming_the_flag_and_exit_2_before_anything_starts(
    args: list[str], flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.cli import main

    assert main(["soak", "--out", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and flag in err[0], err
    assert list(tmp_path.iterdir()) == []  # no run directory: nothing started
