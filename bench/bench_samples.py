"""Samples file format and analysis cost: why Arrow IPC, and 1M samples judged in seconds.

    .venv/bin/python bench/bench_samples.py [--rows 1000000]

Part 1 compares three formats for the samples file by what matters:
the cost per row of writing inside Locust (append a tuple; flush a batch per
second, here every 5,000 rows), the time pandas takes to read all rows back,
the file size, and whether a file cut off by a crash stays readable.
Part 2 measures the full analysis of the rows: `read_samples` + `evaluate`
of the shipped SLOs, time and peak RSS (in a fresh process). Targets:
< 5 s and < 500 MiB for 1M samples. `uptime` is printed alongside.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.samples import COLUMNS, SCHEMA, Row, SampleWriter, read_samples, rows_to_batch  # noqa: E402

NAMES = ["POST /v1/route", "POST /v1/governance/validate", "GET /v1/governance/policies/{tenant}", "GET /healthz",
         "security: no key", "security: wrong key", "WS /v1/runtime/ws first event"]
FLUSH_EVERY = 5_000


def make_rows(n: int, seed: int = 1) -> list[Row]:
    rng = random.Random(seed)
    t0 = time.time()
    rows: list[Row] = []
    for i in range(n):
        lat = rng.lognormvariate(3.0, 0.6)
        ok = rng.random() > 0.005
        lag = rng.random() * 2
        rows.append((t0 + i / 5000, t0 + i / 5000 - lag / 1000, rng.choice(NAMES), "POST", 200 if ok else 503, ok,
                     "" if ok else "http_503", lat, lat + lag, 321, "canary" if i % 10 == 0 else "baseline",
                     "us-central1", f"w{i % 2}"))
    return rows


def write_arrow(rows: list[Row], path: Path) -> None:
    writer = SampleWriter(path, flush_interval=3600)
    for i, row in enumerate(rows, 1):
        writer.add(row)
        if i % FLUSH_EVERY == 0:
            writer.flush()
    writer.close()


def write_csv(rows: list[Row], path: Path) -> None:
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(COLUMNS)
        for i, row in enumerate(rows, 1):
            out.writerow(row)
            if i % FLUSH_EVERY == 0:
                f.flush()


def write_parquet(rows: list[Row], path: Path) -> None:
    # one row group per flush; the footer is only written at close
    with pq.ParquetWriter(path, SCHEMA) as writer:
        for start in range(0, len(rows), FLUSH_EVERY):
            writer.write_batch(rows_to_batch(rows[start:start + FLUSH_EVERY]))


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, engine="pyarrow")


def read_parquet(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path)


def survives_truncation(reader, path: Path) -> str:
    data = path.read_bytes()
    cut = path.with_suffix(".cut")
    cut.write_bytes(data[: int(len(data) * 0.7)])
    try:
        return f"yes ({len(reader(cut)):,} rows)"
    except Exception as exc:  # noqa: BLE001 - any failure means "not readable"
        return f"no ({type(exc).__name__})"


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def formats(n: int, tmp: Path) -> None:
    rows = make_rows(n)
    print(f"part 1: {n:,} rows, flush every {FLUSH_EVERY:,} rows")
    print(f"{'format':10} {'write µs/row':>13} {'read s':>8} {'MiB':>7}  readable after crash")
    for name, writer, reader, suffix in (
        ("arrow-ipc", write_arrow, read_samples, ".arrow"),
        ("csv", write_csv, read_csv, ".csv"),
        ("parquet", write_parquet, read_parquet, ".parquet"),
    ):
        path = tmp / f"samples{suffix}"
        w, _ = timed(writer, rows, path)
        r, frame = timed(reader, path)
        assert len(frame) == n
        size = path.stat().st_size / 2**20
        print(f"{name:10} {w / n * 1e6:13.2f} {r:8.2f} {size:7.1f}  {survives_truncation(reader, path)}")


ANALYSIS = """
import sys, time
t = time.perf_counter()
from harness.samples import read_samples
from harness.slo import evaluate, load_slos
frame = read_samples(sys.argv[1])
checks = evaluate(load_slos(sys.argv[2]), frame)
elapsed = time.perf_counter() - t
# VmHWM, not ru_maxrss: ru_maxrss survives exec and would include the parent's rows
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
rss = int(hwm.split()[1]) / 1024
print(f"{len(frame)} {len(checks)} {elapsed:.2f} {rss:.0f}")
"""


def analysis(n: int, tmp: Path) -> None:
    path = tmp / "analysis.arrow"
    write_arrow(make_rows(n, seed=2), path)
    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", ANALYSIS, str(path), str(repo / "slos")], capture_output=True,
                         text=True, check=True, cwd=repo, env={**os.environ, "PYTHONPATH": str(repo)}).stdout.split()
    rows, checks, elapsed, rss = out
    print(f"part 2: read + evaluate shipped SLOs over {int(rows):,} samples: {elapsed} s, peak RSS {rss} MiB, "
          f"{checks} checks (targets < 5 s, < 500 MiB; includes interpreter and imports)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    with tempfile.TemporaryDirectory() as tmp:
        formats(args.rows, Path(tmp))
        analysis(args.rows, Path(tmp))
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
