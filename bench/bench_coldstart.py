"""Benchmark `harness up`: whole-platform start time, per-service cold start, idle RSS, teardown time.

Brings the shipped topology up behind the embedded Toxiproxy (and redis-server
when installed), restarts every service N times one at a time (spawn → first
200 on /readyz, and → first successful real request), then lets it idle and
reads each process's RSS. Prints the machine load (`uptime`) before and after,
because on a shared box the figures move with it.

    .venv/bin/python bench/bench_coldstart.py [--repeat 5] [--idle 5]

The review's target: cold start 1-2 s (slos/cold-start.yaml: <= 2 s); memory
budget 512 MiB per service.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time

from harness.topology import Platform, load_topology
from harness.topology._coldstart import measure_cold_starts, summarize


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="restarts per service (default 5)")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of idle before reading RSS (default 5)")
    args = parser.parse_args()
    topology = load_topology()
    services = [i.name for i in topology.instances() if not i.service.external]
    print(f"load before: {_uptime()}")
    t0 = time.monotonic()
    with Platform.up(topology, run_dir=tempfile.mkdtemp(prefix="bench-coldstart-"), sample_interval=1.0) as p:
        t_up = time.monotonic() - t0
        print(f"whole platform up (toxiproxy, redis={p.redis_mode}, {len(services)} services, proxies): {t_up:.2f} s")
        starts = measure_cold_starts(p, services, args.repeat)
        time.sleep(args.idle)
        rss = p.idle_rss_mib()
        t_down = time.monotonic()
    t_down = time.monotonic() - t_down
    print(f"teardown: {t_down:.2f} s\n")
    print(f"cold start over {args.repeat} restarts each (seconds from spawn)")
    header = f"{'instance':26} {'ready min':>9} {'median':>7} {'max':>6}  {'first-ok min':>12} {'median':>7} {'max':>6}"
    print(header)
    print("-" * len(header))
    for s in summarize(starts):
        print(f"{s.instance:26} {s.ready_min_s:9.2f} {s.ready_median_s:7.2f} {s.ready_max_s:6.2f}  "
              f"{s.first_ok_min_s or 0:12.2f} {s.first_ok_median_s or 0:7.2f} {s.first_ok_max_s or 0:6.2f}")
    print(f"\nidle RSS after {args.idle:g} s (MiB)")
    for name in sorted(rss):
        print(f"  {name:26} {rss[name]:7.1f}")
    services_rss = [v for k, v in rss.items() if k not in ("redis", "toxiproxy")]
    print(f"  {'(services, median)':26} {statistics.median(services_rss):7.1f}")
    print(f"\nload after: {_uptime()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
