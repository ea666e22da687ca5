"""Running load: Locust as subprocesses, and the end-of-run SLO verdict.

    run = run_locust(LocustConfig(locustfile=Path("scenarios/xynergy_platform.py"),
                                  host=platform.edge_url, out_dir=Path("reports/r1/stage-10"),
                                  users=20, run_time_s=60, rps=200, api_key=platform.api_key))
    run.exit_code, run.samples(), run.verdict()

`workers=N` runs a Locust master and N local workers; their samples reach the
master's samples file over Locust's worker→master messages (see harness.locust).
"""

from __future__ import annotations

from harness.load._runner import LOOPBACK_HOSTS, LocustConfig, LocustRun, run_locust
from harness.load._transport import MasterCollector, WorkerBatcher
from harness.load._verdict import RunVerdict, judge_samples, print_verdict, resolve_slos, write_verdict

__all__ = [
    "LOOPBACK_HOSTS",
    "LocustConfig",
    "LocustRun",
    "MasterCollector",
    "RunVerdict",
    "judge_samples",
    "print_verdict",
    "resolve_slos",
    "run_locust",
    "WorkerBatcher",
    "write_verdict",
]
