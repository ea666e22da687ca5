"""Scale-out: maximum requests/s with 1 and 2 Locust worker processes, sample capture on.

    .venv/bin/python bench/bench_workers.py [--seconds 10] [--users 20]

Runs `harness.load.run_locust` (master + N local workers; samples travel to
the master over Locust's worker→master messages) against the fast local
server of bench_capture.py, closed model, and counts the samples that reached
the master's file per second of the run. Also prints the per-row cost of the
two ways samples could reach the analysis (messages to the master vs
per-worker files gathered at the end), which is why messages were chosen.
`uptime` is printed alongside: on a shared 2-core machine the master, the
workers and the server compete for the same cores.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgpack

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_capture import LOCUSTFILE, start_server  # noqa: E402
from bench_samples import make_rows  # noqa: E402

from harness.load import LocustConfig, run_locust  # noqa: E402
from harness.samples import SampleWriter, decode_batch, encode_batch, read_samples, rows_to_batch  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def transport_costs(n: int = 200_000, batch: int = 5_000) -> None:
    rows = make_rows(n)
    with tempfile.TemporaryDirectory() as tmp:
        master = SampleWriter(Path(tmp) / "master.arrow")
        t = time.perf_counter()
        for start in range(0, n, batch):  # worker: batch → bytes → msgpack; master: unpack → decode → write
            wire = msgpack.packb({"rows": encode_batch(rows_to_batch(rows[start:start + batch]))})
            master.add_table(decode_batch(msgpack.unpackb(wire)["rows"]))
        master.close()
        messages = (time.perf_counter() - t) / n * 1e6
        t = time.perf_counter()
        worker = SampleWriter(Path(tmp) / "w0.arrow", flush_interval=3600)
        for start in range(0, n, batch):  # worker writes its own file; read at the end
            for row in rows[start:start + batch]:
                worker.add(row)
            worker.flush()
        worker.close()
        read_samples(Path(tmp) / "w0.arrow")
        files = (time.perf_counter() - t) / n * 1e6
    print(f"transport cost per row: messages {messages:.2f} µs (batch {batch:,}), per-worker files {files:.2f} µs "
          "(files also need a shared filesystem or a copy step; messages work across machines)")


def max_rps(url: str, workers: int, seconds: int, users: int, tmp: Path) -> tuple[float, int, str]:
    locustfile = tmp / "fast_locustfile.py"
    locustfile.write_text(LOCUSTFILE)
    out = tmp / f"w{workers}-{time.monotonic_ns()}"
    run = run_locust(LocustConfig(locustfile=locustfile, host=url, out_dir=out, users=users, run_time_s=seconds,
                                  workers=workers, slo_dir=REPO / "slos", min_samples=1))
    frame = run.samples()
    span = float(frame["ts"].max() - frame["ts"].min()) if len(frame) > 1 else float("nan")
    verdict = run.verdict() or {}
    complete = next((c["verdict"] for c in verdict.get("checks", []) if c["name"] == "samples-complete"), "n/a")
    return len(frame) / span, len(frame), complete


def server_capacity(url: str) -> str:
    """What the endpoint itself sustains (wrk, one thread), to tell a server limit from a generator limit."""
    if shutil.which("wrk") is None:
        return "wrk not installed"
    out = subprocess.run(["wrk", "-t1", "-c32", "-d5s", url], capture_output=True, text=True).stdout
    line = next((x for x in out.splitlines() if x.startswith("Requests/sec")), "Requests/sec: ?")
    return line.split(":", 1)[1].strip() + " req/s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--users", type=int, default=20)
    args = parser.parse_args()
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    transport_costs()
    server, url = start_server()
    try:
        print(f"endpoint capacity (wrk -t1 -c32): {server_capacity(url)}")
        with tempfile.TemporaryDirectory() as tmp:
            results = {}
            for workers in (0, 1, 2):
                rps, n, complete = max_rps(url, workers, args.seconds, args.users, Path(tmp))
                results[workers] = rps
                label = "single process" if workers == 0 else f"master + {workers} worker{'s' if workers > 1 else ''}"
                print(f"  {label:20} {rps:8.0f} req/s  ({n:,} samples, samples-complete: {complete})")
    finally:
        server.kill()
        server.wait()
    print(f"scaling 1 → 2 workers: x{results[2] / results[1]:.2f}")
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
