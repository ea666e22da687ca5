"""The Locust plugin, end to end: Locust runs as a subprocess against a server with known latencies."""

from __future__ import annotations

import json
from collections import Counter
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.load import LocustConfig, run_locust
from harness.samples import COLUMNS, read_samples
from tests.load.conftest import TimedServer

REPO = Path(__file__).resolve().parents[2]
SLOS = REPO / "slos"


def _check(verdict: dict, name: str) -> dict:
    matches = [c for c in verdict["checks"] if c["name"] == name]
    assert len(matches) == 1, verdict["checks"]
    return matches[0]


def _nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(q / 100 * len(ordered)) - 1]


def _run_with_slow_tenth(server: TimedServer, locustfile: Path, out: Path, slow_s: float,
                         every: int = 10, rps: int = 60) -> tuple[int, dict, list[float]]:
    server.delay = lambda n: slow_s if n % every == every - 1 else 0.002  # 1 in `every` slow: p95 is a slow one
    # users enough that slow requests never hold the pacer up (a late pacer voids a latency FAIL)
    run = run_locust(LocustConfig(locustfile=locustfile, host=server.url, out_dir=out, users=12,
                                  run_time_s=6, rps=rps, slo_dir=SLOS, min_samples=30))
    verdict = run.verdict()
    assert verdict is not None, run.log_file.read_text()
    return run.exit_code, verdict, run.samples()["latency_ms"].tolist()


@pytest.mark.slow
def test_a_service_whose_p95_is_just_above_100ms_fails_and_one_just_below_passes(
    timed_server: TimedServer, paced_locustfile: Path, tmp_path: Path
) -> None:
    # a fifth slow: the p95's anytime-valid interval lies above 100 ms from a few hundred requests
    code, verdict, latencies = _run_with_slow_tenth(timed_server, paced_locustfile, tmp_path / "above", 0.101, every=5)
    p95 = _check(verdict, "latency-p95")
    assert (code, p95["verdict"]) == (1, "fail")
    assert p95["value"] == _nearest_rank(latencies, 95)  # exact, from the rows, not Locust's buckets
    assert 101.0 <= p95["value"]

    # bounding a p95 from above takes more requests (~400) than bounding it from below
    code, verdict, latencies = _run_with_slow_tenth(timed_server, paced_locustfile, tmp_path / "below", 0.085, rps=120)
    p95 = _check(verdict, "latency-p95")
    assert p95["verdict"] == "pass", p95
    # no other check may fail; one still undecided (an error ratio needs ~800 requests to
    # prove < 1 %) makes the run inconclusive (2), never a pass or a breach
    others = {c["verdict"] for c in verdict["checks"] if c["name"] != "latency-p95"}
    assert "fail" not in others and code == (0 if others <= {"pass"} else 2), verdict["checks"]
    assert p95["value"] == _nearest_rank(latencies, 95)
    assert 85.0 <= p95["value"] < 100.0


@pytest.mark.slow
def test_a_one_second_stall_shows_in_the_co_corrected_p99_and_not_in_the_uncorrected_one(
    timed_server: TimedServer, paced_locustfile: Path, tmp_path: Path
) -> None:
    timed_server.delay = lambda n: 1.0 if n == 40 else 0.001
    run = run_locust(LocustConfig(locustfile=paced_locustfile, host=timed_server.url, out_dir=tmp_path,
                                  users=1, run_time_s=4, rps=50, slo_dir=SLOS, min_samples=30))
    frame = run.samples()
    assert len(frame) >= 100, run.log_file.read_text()
    service_p99 = _nearest_rank(frame["latency_ms"].tolist(), 99)
    corrected_p99 = _nearest_rank(frame["co_latency_ms"].tolist(), 99)
    assert frame["latency_ms"].max() >= 1000.0  # the stalled request itself
    assert service_p99 < 200.0
    assert corrected_p99 > 500.0  # the requests that were due during the stall
    late = frame[frame["co_latency_ms"] - frame["latency_ms"] > 100.0]
    assert (late["ts"] - late["intended_ts"]).min() > 0.1


@pytest.mark.slow
def test_locust_killed_mid_run_leaves_a_samples_file_missing_at_most_about_a_second(
    timed_server: TimedServer, paced_locustfile: Path, tmp_path: Path
) -> None:
    samples = tmp_path / "samples.arrow"
    env = {k: v for k, v in os.environ.items() if k != "LOCUST_SKIP_MONKEY_PATCH"}
    args = [sys.executable, "-m", "locust", "-f", str(paced_locustfile), "--headless", "-u", "2", "-r", "2",
            "-t", "60s", "--host", timed_server.url, "--rps", "100", "--samples-file", str(samples),
            "--slo-dir", str(SLOS), "--only-summary"]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while timed_server.count < 250 and time.monotonic() < deadline:
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        killed_at = time.time()
    finally:
        proc.kill()
        proc.wait()
    frame = read_samples(samples)
    assert tuple(frame.columns) == COLUMNS
    served_before = sum(1 for t in timed_server.arrivals if t < killed_at - 1.5)
    assert served_before >= 100
    assert len(frame) >= served_before  # everything older than the flush interval survived
    assert frame["ok"].all()


@pytest.mark.slow
def test_invalid_slo_files_stop_locust_before_any_load_with_one_line_and_exit_code_2(
    timed_server: TimedServer, paced_locustfile: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "slos"
    bad.mkdir()
    (bad / "latency.yaml").write_text((SLOS / "latency.yaml").read_text().replace("op: lt", "op: below"))
    run = run_locust(LocustConfig(locustfile=paced_locustfile, host=timed_server.url, out_dir=tmp_path / "out",
                                  users=1, run_time_s=5, slo_dir=bad))
    log = run.log_file.read_text()
    errors = [line for line in log.splitlines() if line.startswith("harness: error:")]
    assert run.exit_code == 2
    assert errors == [f"harness: error: {bad / 'latency.yaml'}: spec.objectives[0].op: 'below' is not one of lt, lte, gt, gte"]
    assert timed_server.count == 0


@pytest.mark.slow
def test_a_users_own_locustfile_gets_the_default_gate_without_slo_files(timed_server: TimedServer, tmp_path: Path) -> None:
    example = REPO / "scenarios" / "examples" / "own_locustfile.py"
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "LOCUST_SKIP_MONKEY_PATCH"}
    args = [sys.executable, "-m", "locust", "-f", str(example), "--headless", "-u", "3", "-r", "3", "-t", "3s",
            "--host", timed_server.url, "--samples-file", str(out / "s.arrow"), "--verdict-file", str(out / "v.json"),
            "--min-samples", "10", "--stop-timeout", "5s"]  # let in-flight requests finish, so none goes uncounted
    done = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    verdict = json.loads((out / "v.json").read_text())
    # a healthy server is never failed; a 3 s run may be too short to prove < 1 % errors (exit 2)
    assert verdict["verdict"] != "fail", verdict["checks"]
    assert done.returncode == {"pass": 0, "inconclusive": 2}[verdict["verdict"]], done.stderr[-2000:]
    assert verdict["slo_source"] == "built-in defaults"
    assert {c["name"] for c in verdict["checks"]} == {"latency-p95", "error-ratio", "generator/health"}
    assert verdict["samples"] == timed_server.count
    assert "SLO verdict" in done.stdout


@pytest.mark.slow
def test_two_workers_deliver_every_sample_to_the_master_exactly_once(
    timed_server: TimedServer, paced_locustfile: Path, tmp_path: Path
) -> None:
    timed_server.delay = lambda n: 0.001
    run = run_locust(LocustConfig(locustfile=paced_locustfile, host=timed_server.url, out_dir=tmp_path, users=4,
                                  run_time_s=3, rps=80, workers=2, slo_dir=SLOS, min_samples=30))
    frame = run.samples()
    verdict = run.verdict()
    assert verdict is not None, run.log_file.read_text()
    assert len(frame) == timed_server.count > 100
    assert frame["worker"].nunique() == 2
    assert _check(verdict, "samples-complete")["verdict"] == "pass"
    assert verdict["verdict"] != "fail", verdict["checks"]  # 240 healthy requests: pass, or too few to prove it
    assert run.exit_code == {"pass": 0, "inconclusive": 2}[verdict["verdict"]] and run.worker_exit_codes == (0, 0)
    assert "SLO verdict" in run.log_file.read_text()  # the master judges...
    for log in sorted(tmp_path.glob("locust-worker-*.log")):
        assert "SLO verdict" not in log.read_text()  # ...workers never do


@pytest.mark.slow
def test_every_sample_records_the_cache_and_tier_headers_of_its_own_response(
    timed_server: TimedServer, paced_locustfile: Path, tmp_path: Path
) -> None:
    cache_of = ("hit", "miss", "dedup", None)  # None: the header is absent
    tier_of = ("small", "large", None)
    timed_server.headers = lambda n: {
        **({"x-xynergy-cache": cache_of[n % 4]} if cache_of[n % 4] else {}),
        **({"X-Xynergy-Tier": tier_of[n % 3]} if tier_of[n % 3] else {}),
    }
    run = run_locust(LocustConfig(locustfile=paced_locustfile, host=timed_server.url, out_dir=tmp_path, users=2,
                                  run_time_s=2, rps=40, slo_dir=SLOS, min_samples=1))
    frame = run.samples()
    served = timed_server.count
    assert served - 2 <= len(frame) <= served and len(frame) >= 20, run.log_file.read_text()  # ≤ 2 users in flight
    assert tuple(frame.columns) == COLUMNS
    # requests are numbered by arrival, samples by start: compare the (cache, tier) pairs as multisets;
    # periods 4 and 3 make each pair name the request's number mod 12, so a header from another response shows
    expected = Counter((cache_of[n % 4] or "", tier_of[n % 3] or "") for n in range(served))
    recorded = Counter(zip(frame["cache"], frame["tier"], strict=True))
    assert recorded <= expected and (expected - recorded).total() == served - len(frame)
    assert {"hit", "miss", "dedup", ""} == set(frame["cache"]) and {"small", "large", ""} == set(frame["tier"])
