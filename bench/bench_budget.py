"""What the instrument costs: CPU per 1,000 requests for each harness process and the platform.

Runs a real `harness rollout` (one stage by default) at each rate, samples the
CPU time of every process in its tree from the OS (psutil, user + system,
every 0.5 s, keeping each process's last reading after it exits), classifies
them by role, and divides by the requests the run's summary.json counted.

    .venv/bin/python bench/bench_budget.py --rates 100,300,1000 --stage-duration 20s
    .venv/bin/python bench/bench_budget.py --rates 100 --stage-duration 15s    # a 20-s smoke

Roles: orchestrator (the `harness rollout` process: live display, samplers,
judge, reports), locust (the master, or the one process), locust-worker
(with --workers), toxiproxy (embedded server), redis, platform (every
xynergy service). Two lines per rate: the whole run (platform boot, imports
and the report included) and only the time Locust ran (the steady cost of
the instrument under load, which is what scales with the rate). Each line
ends with its top consumers (the three largest shares of that CPU), and the
harness's own processes are summed apart from the platform's. Quote
`uptime` with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from harness.samples import read_samples

ROOT = Path(__file__).resolve().parents[1]
HARNESS = str(Path(sys.executable).with_name("harness"))


def role_of(proc: psutil.Process, root_pid: int) -> str:
    if proc.pid == root_pid:
        return "orchestrator"
    try:
        cmd = " ".join(proc.cmdline())
    except psutil.Error:
        return "other"
    if "locust" in cmd:
        return "locust-worker" if "--worker" in cmd else "locust"
    if "toxiproxy" in cmd:
        return "toxiproxy"
    if "redis-server" in cmd or "redis" in proc.name():
        return "redis"
    if "xynergy" in cmd:
        return "platform"
    return "other"


def measure(rate: int, stage_duration: str, warmup: str, stages: str, out: Path, workers: int) -> dict[str, object]:
    cmd = [HARNESS, "rollout", "--rps", str(rate), "--stages", stages, "--stage-duration", stage_duration,
           "--warmup", warmup, "--no-live", "--out", str(out), "--workers", str(workers)]
    root = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    cpu: dict[int, tuple[str, float]] = {}
    # the CPU every process had used when Locust first appeared and when it last was seen: their
    # difference is the steady state under load, without start-up, platform boot and the report
    at_load_start: dict[int, float] | None = None
    at_load_end: dict[int, float] = {}
    top = psutil.Process(root.pid)
    while root.poll() is None:
        try:
            procs = [top, *top.children(recursive=True)]
        except psutil.Error:
            break
        for p in procs:
            try:
                t = p.cpu_times()
                role = cpu[p.pid][0] if p.pid in cpu else role_of(p, root.pid)
                cpu[p.pid] = (role, t.user + t.system)
            except psutil.Error:
                continue
        loading = any(role.startswith("locust") for pid, (role, _) in cpu.items() if pid in {q.pid for q in procs})
        if loading:
            if at_load_start is None:
                at_load_start = {pid: seconds for pid, (_, seconds) in cpu.items()}
            at_load_end = {pid: seconds for pid, (_, seconds) in cpu.items()}
        time.sleep(0.5)
    _, err = root.communicate()
    summary_path = out / "latest" / "summary.json"
    if not summary_path.exists():
        raise SystemExit(f"rollout at {rate} req/s wrote no summary (exit {root.returncode}): {err.decode()[-400:]}")
    summary = json.loads(summary_path.read_text())
    # every request sent (warm-up included), since the CPU covers the whole run
    files = sorted(summary_path.resolve().parent.glob("**/samples*.arrow"))
    requests = len(read_samples(files)) if files else sum(sum(s.get("requests", {}).values()) for s in summary["stages"])
    by_role: dict[str, float] = {}
    under_load: dict[str, float] = {}
    for pid, (role, seconds) in cpu.items():
        by_role[role] = by_role.get(role, 0.0) + seconds
        if at_load_start is not None and pid in at_load_end:
            under_load[role] = under_load.get(role, 0.0) + at_load_end[pid] - at_load_start.get(pid, 0.0)
    return {"rate": rate, "requests": requests, "verdict": summary["verdict"], "cpu_s": by_role,
            "cpu_under_load_s": under_load}


HARNESS_ROLES = ("orchestrator", "locust", "locust-worker", "toxiproxy")
ROLES = [*HARNESS_ROLES, "redis", "platform", "other"]


def top_consumers(cpu: dict[str, float], n: int = 3) -> str:
    """The `n` roles with the largest share of the run's CPU, e.g. `locust 41 %, platform 38 %, orchestrator 12 %`."""
    total = sum(cpu.values()) or 1.0
    ranked = sorted(cpu.items(), key=lambda kv: kv[1], reverse=True)[:n]
    return ", ".join(f"{role} {100 * seconds / total:.0f} %" for role, seconds in ranked)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rates", default="100,300,1000", help="req/s, comma-separated (default: 100,300,1000)")
    ap.add_argument("--stage-duration", default="20s", help="judged time per stage (default: 20s)")
    ap.add_argument("--warmup", default="5s", help="unjudged warm-up per stage (default: 5s)")
    ap.add_argument("--stages", default="10", help="canary weights (default: 10, one stage)")
    ap.add_argument("--workers", type=int, default=0, help="Locust workers (default: 0, one process)")
    args = ap.parse_args()
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    print(f"{'req/s':>6} {'requests':>9} " + " ".join(f"{r:>13}" for r in ROLES) + f" {'harness':>9}"
          + "   (CPU ms per 1,000 requests sent: the whole run, then only while Locust ran)")
    for rate in (int(r) for r in args.rates.split(",")):
        with tempfile.TemporaryDirectory(prefix="bench-budget-") as tmp:
            result = measure(rate, args.stage_duration, args.warmup, args.stages, Path(tmp), args.workers)
        n = max(1, int(result["requests"]))  # type: ignore[call-overload]
        for label, key in (("whole run", "cpu_s"), ("under load", "cpu_under_load_s")):
            cpu = result[key]
            assert isinstance(cpu, dict)
            own = sum(cpu.get(r, 0.0) for r in HARNESS_ROLES)
            print(f"{rate:>6} {n:>9} " + " ".join(f"{1e6 * cpu.get(r, 0.0) / n:>13.1f}" for r in ROLES)
                  + f" {1e6 * own / n:>9.1f}   {label}; verdict {result['verdict']}; top: {top_consumers(cpu)}")
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
