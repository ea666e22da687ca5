"""Samples file format and analysis cost: why Arrow IPC, and 1M-10M samples judged in seconds.

    .venv/bin/python bench/bench_samples.py [--rows 1000000] [--big 1000000,10000000]
    .venv/bin/python bench/bench_samples.py --only-streaming --lean-only --big 10000000   # the 10 M target alone

Part 1 compares three formats for the samples file by what matters:
the cost per row of writing inside Locust (append a tuple; flush a batch per
second, here every 5,000 rows), the time pandas takes to read all rows back,
the file size, and whether a file cut off by a crash stays readable.
Part 2 measures the full analysis of the rows: `read_samples` + `evaluate`
of the shipped SLOs, time and peak RSS (in a fresh process). Targets:
< 5 s and < 500 MiB for 1M samples.
Part 3 (issue 18 item 2): 1 M and 10 M samples (written batch by batch with
numpy, as Locust would over a soak), read + judged in a fresh process by the
shipped SLOs per revision and once more per revision and name, with the load
generator's health: every column as plain strings vs the lean path (only
`needed_columns(slos)`, strings as Categoricals, `read_samples(path,
columns=..., categorical=True)`), time and peak RSS. Targets: 10 M in
≤ 10 s and ≤ 1 GiB, 1 M in ≤ 1 s. `uptime` is printed alongside.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
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
                     "us-central1", f"w{i % 2}", "hit" if i % 3 == 0 else "miss", "small"))
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


def survives_truncation(reader: Callable[[Path], pd.DataFrame], path: Path) -> str:
    data = path.read_bytes()
    cut = path.with_suffix(".cut")
    cut.write_bytes(data[: int(len(data) * 0.7)])
    try:
        return f"yes ({len(reader(cut)):,} rows)"
    except Exception as exc:  # noqa: BLE001 - any failure means "not readable"
        return f"no ({type(exc).__name__})"


def timed(fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
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


def _strings(rng: np.random.Generator, values: list[str], n: int, p: list[float] | None = None) -> pa.Array:
    codes = pa.array(rng.choice(len(values), size=n, p=p).astype(np.int32))
    return pa.DictionaryArray.from_arrays(codes, pa.array(values)).cast(pa.string())


def write_big(n: int, path: Path, batch: int = 100_000) -> None:
    """`n` samples in batches of `batch` rows, generated with numpy (a soak at ~3,000 req/s flushes ~3,000)."""
    rng = np.random.default_rng(3)
    t0 = time.time()
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, SCHEMA) as out:
        for start in range(0, n, batch):
            m = min(batch, n - start)
            ts = t0 + (start + np.arange(m)) / 3000.0
            lag = rng.random(m) * 2.0
            lat = rng.lognormal(3.0, 0.6, m)
            ok = rng.random(m) > 0.005
            columns = [
                pa.array(ts), pa.array(ts - lag / 1000), _strings(rng, NAMES, m), _strings(rng, ["POST", "GET"], m),
                pa.array(np.where(ok, 200, 503).astype(np.int32)), pa.array(ok),
                pa.array(np.where(ok, "", "http_503")), pa.array(lat), pa.array(lat + lag),
                pa.array(np.full(m, 321, dtype=np.int64)), _strings(rng, ["baseline", "canary"], m, [0.9, 0.1]),
                _strings(rng, ["us-central1"], m), _strings(rng, ["w0", "w1"], m),
                _strings(rng, ["hit", "miss", "dedup"], m), _strings(rng, ["small", "medium", "large"], m),
            ]  # fmt: skip
            out.write_batch(pa.RecordBatch.from_arrays(columns, schema=SCHEMA))


STREAMING = """
import sys, time
t = time.perf_counter()
from harness.samples import read_samples
from harness.slo import evaluate, load_slos
from harness.slo._evaluate import needed_columns
sys.path.insert(0, sys.argv[4])
from bench_samples import per_name
slos = load_slos(sys.argv[2])
slos += per_name(slos)
columns, categorical = (None, False) if sys.argv[3] == "all" else (needed_columns(slos), True)
frame = read_samples(sys.argv[1], columns=columns, categorical=categorical)
read = time.perf_counter() - t
checks = evaluate(slos, frame)
elapsed = time.perf_counter() - t
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(f"{len(frame)} {len(checks)} {read:.2f} {elapsed:.2f} {int(hwm.split()[1]) / 1024:.0f}")
"""


def per_name(slos: list[Any]) -> list[Any]:
    """The shipped sample SLOs once more, grouped by revision and request name (the issue's "per revision and name")."""
    from dataclasses import replace

    from harness.slo import parse_slo_documents

    out = []
    for slo in slos:
        src = slo.indicator.source
        if src.type != "harness" or "query" not in src.spec:
            continue
        doc = {"apiVersion": "openslo/v1", "kind": "SLO", "metadata": {"name": f"{slo.name}-per-name"},
               "spec": {"service": "xynergy", "budgetingMethod": slo.budgeting_method,
                        "timeWindow": [{"duration": "10m"}],
                        "indicator": {"spec": {"thresholdMetric": {"metricSource": {
                            "type": "harness", "spec": {**src.spec, "groupBy": ["revision", "name"]}}}}},
                        "objectives": [{k: v for k, v in (("op", o.op), ("value", o.value)) if v is not None}
                                       for o in slo.objectives]}}  # fmt: skip
        [copy] = parse_slo_documents([(f"{slo.name}-per-name.yaml", doc)])
        out.append(replace(copy, source_file=slo.source_file))
    return out


def frame_columns(repo: Path) -> list[str]:
    """The columns the shipped SLOs (and the generator check) read, for the table's label."""
    from harness.slo import load_slos
    from harness.slo._evaluate import needed_columns

    return needed_columns(load_slos(repo / "slos"))


def streaming(sizes: list[int], tmp: Path, modes: tuple[str, ...] = ("all", "slo")) -> None:
    repo = Path(__file__).resolve().parents[1]
    print("part 3: read + judge the shipped SLOs in a fresh process (time includes interpreter start and imports)")
    print(f"the SLOs' columns: {', '.join(frame_columns(repo))}")
    print(f"{'samples':>11} {'columns':>26} {'read s':>7} {'total s':>8} {'peak RSS MiB':>13}")
    for n in sizes:
        path = tmp / f"big-{n}.arrow"
        write_big(n, path)
        for columns in modes:
            out = subprocess.run([sys.executable, "-c", STREAMING, str(path), str(repo / "slos"), columns,
                                  str(Path(__file__).resolve().parent)],
                                 capture_output=True, text=True, check=True, cwd=repo,
                                 env={**os.environ, "PYTHONPATH": str(repo)}).stdout.split()  # fmt: skip
            rows, _, read, total, rss = out
            label = "all 15" if columns == "all" else f"the SLOs' {len(frame_columns(repo))}, categorical"
            print(f"{int(rows):>11,} {label:>26} {read:>7} {total:>8} {rss:>13}")
        path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--big", default="1000000,10000000", help="sample counts for part 3 (comma-separated)")
    parser.add_argument("--only-streaming", action="store_true", help="run part 3 only")
    parser.add_argument("--lean-only", action="store_true",
                        help="part 3: only the lean path (the all-columns row of 10 M takes minutes and ~3 GiB)")
    args = parser.parse_args()
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    with tempfile.TemporaryDirectory() as tmp:
        if not args.only_streaming:
            formats(args.rows, Path(tmp))
            analysis(args.rows, Path(tmp))
        streaming([int(n) for n in args.big.split(",")], Path(tmp), ("slo",) if args.lean_only else ("all", "slo"))
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
