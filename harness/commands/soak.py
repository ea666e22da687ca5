"""`harness soak`: a steady load for a long time, periodic verdict snapshots, memory leaks of every process."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness._duration import duration_arg
from harness.engine._flags import add_run_arguments, run_metrics

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "soak",
        help="run a steady load for a long time (e.g. 60m); snapshot the SLO verdict every few minutes; "
        "judge memory growth of the platform and the harness",
        description="Bring up the platform (or attach to one) and drive one Locust at a steady rate for the whole "
        "duration. Every --snapshot-every the SLOs are judged over that window and the verdict is printed and "
        "written to reports/<run-id>/snapshots/ as it goes. At the end: the SLOs over the whole run, a memory-leak "
        "verdict (RSS slope in MiB/h) for every platform process and for the harness's own (orchestrator, Locust, "
        "embedded Toxiproxy), the load's integrity; report in reports/<run-id>/ (index.html, summary.json, "
        "summary.md, junit.xml). Exit codes: 0 pass, 1 a check failed (an SLO, a window, a platform leak), 2 invalid "
        "input, inconclusive or incomplete, 130/143/129 stopped by SIGINT/SIGTERM/SIGHUP (load stopped, traffic "
        "restored, partial report written). See docs/soak.md.",
    )
    add_run_arguments(p, compare=False)  # a soak is not compared with another run (yet)
    p.add_argument("--duration", type=duration_arg, default=3600.0, metavar="DURATION",
                   help="how long the load runs, e.g. 60m (default: 60m)")
    p.add_argument("--rps", type=float, default=100.0, metavar="RATE", help="steady request rate (default: 100)")
    p.add_argument("--snapshot-every", type=duration_arg, metavar="DURATION",
                   help="judge and report the SLOs over each window this long, e.g. 5m "
                        "(default: 5m, or the whole --duration when shorter)")
    p.add_argument("--memory-warmup", type=duration_arg, metavar="DURATION",
                   help="RSS ignored at the start when fitting slopes (default: 10 %% of --duration, 5s to 5m)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from harness.soak import SoakConfig, run_soak

    if args.canary_defect:
        from harness.topology._model import validate_defect

        validate_defect(args.canary_defect, source="--canary-defect", field_name="")
    config = SoakConfig(
        duration_s=args.duration, rps=args.rps, warmup_s=args.memory_warmup,
        snapshot_every_s=args.snapshot_every if args.snapshot_every is not None else min(300.0, args.duration),
        topology=Path(args.topology) if args.topology else None, attach=Path(args.attach) if args.attach else None,
        canary_defect=args.canary_defect, out=Path(args.out), slo_dir=Path(args.slo_dir),
        locustfile=Path(args.locustfile), min_samples=args.min_samples, users=args.users, workers=args.workers,
        live=not args.no_live,
    )  # fmt: skip
    config.validate()
    with run_metrics(args, "soak") as events:
        result = run_soak(config, events=events)
    stage = result.stages[0] if result.stages else None
    print(f"soak {result.run_id}: {result.verdict.value.upper()}"
          + ("" if result.complete else f" (incomplete: {result.incomplete_reason})"))
    print(f"  {result.reason}")
    if stage is not None:
        for check in stage.checks:
            if check.kind == "resource":
                print(f"  {check.name} {check.scope}: {check.verdict.value} — {check.detail}")
    print(f"  report: {config.out / result.run_id / 'index.html'}")
    return result.exit_code
