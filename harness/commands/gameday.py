"""`harness gameday`: run a chaos experiment under load and judge failover and recovery."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.monitoring import add_monitoring_arguments, monitoring_config_from_args

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "gameday",
        help="run a chaos experiment under load; measure failover and recovery; judge against the SLOs",
        description="Bring up the platform (or attach to one), check the steady state under load, run the "
        "experiment's fault timeline beside the load, always roll every fault back, then judge the steady "
        "state after, failover/recovery (slos/failover.yaml) and the experiment's checks. Writes "
        "reports/<run-id>/ (index.html, report.json, summary.json, junit.xml, summary.md). Exit codes: 0 pass, "
        "1 a check failed or the steady state did not hold before chaos, 2 invalid input, inconclusive or "
        "incomplete, 130 interrupted (faults rolled back, partial report written).",
    )
    p.add_argument("experiment", metavar="FILE", help="experiment file, e.g. chaos/region-outage.yaml")
    p.add_argument("--rps", type=float, help="target request rate (default: the file's load.rps, else 20)")
    p.add_argument("--duration", metavar="DURATION",
                   help="load duration, e.g. 60s (default: the file's load.duration, else the method + steady tail)")
    p.add_argument("--topology", metavar="FILE", help="topology file (default: the shipped xynergy.yaml)")
    p.add_argument("--attach", metavar="STATE", help="use the platform `harness up --detach` runs (its state file)")
    p.add_argument("--out", default="reports", help="reports directory (default: reports/)")
    p.add_argument("--slo-dir", default="slos", help="SLO files (default: slos/)")
    p.add_argument("--scenario", metavar="LOCUSTFILE", help="locustfile (default: the rollout scenarios)")
    p.add_argument("--users", type=int, help="Locust users (default: the load runner's choice for --rps)")
    p.add_argument("--canary-defect", metavar="PROFILE", help="start the canary with a defect profile, e.g. breaker-off")
    p.add_argument("--canary-weight", type=int, metavar="PCT",
                   help="share of traffic sent to the canary (default: 100 with --canary-defect, else 0)")
    p.add_argument("--min-samples", type=int, default=30, help="minimum samples for an SLO verdict (default: 30)")
    p.add_argument("--workers", type=int, default=0,
                   help="Locust worker processes: a master and N local workers (default: 0, one process)")
    add_monitoring_arguments(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from harness._exceptions import ConfigError
    from harness.chaos import GameDayConfig, parse_duration, run_gameday

    duration = None
    if args.duration is not None:
        try:
            duration = parse_duration(args.duration)
        except ConfigError as exc:
            raise ConfigError(exc.problem, field="--duration") from None
        if duration <= 0:
            raise ConfigError("must be longer than zero", field="--duration")
    if args.rps is not None and args.rps <= 0:
        raise ConfigError(f"must be positive, got {args.rps:g}", field="--rps")
    if args.canary_weight is not None and not 0 <= args.canary_weight <= 100:
        raise ConfigError(f"must be 0-100, got {args.canary_weight}", field="--canary-weight")
    if not 0 <= args.workers <= 64:
        raise ConfigError(f"must be 0 (one process) to 64, got {args.workers}", field="--workers")
    monitoring = monitoring_config_from_args(args)
    if args.canary_defect:
        from harness.topology._model import validate_defect

        validate_defect(args.canary_defect, source="--canary-defect", field_name="")
    config = GameDayConfig(
        experiment=Path(args.experiment),
        rps=args.rps,
        duration=duration,
        topology=Path(args.topology) if args.topology else None,
        attach=Path(args.attach) if args.attach else None,
        out=Path(args.out),
        slo_dir=Path(args.slo_dir),
        scenario=Path(args.scenario) if args.scenario else None,
        canary_defect=args.canary_defect,
        canary_weight=args.canary_weight,
        min_samples=args.min_samples,
        users=args.users,
        workers=args.workers,
        monitoring_interval=monitoring.interval,
    )
    from harness.monitoring import exporter_from_args

    exporter = exporter_from_args(args)
    try:
        result = run_gameday(config, exporter=exporter)
    finally:
        exporter.close()
    run_dir = config.out / result.run_id
    print(f"game day {result.run_id}: {result.verdict.value.upper()}"
          + ("" if result.complete else f" (incomplete: {result.incomplete_reason})"))
    print(f"  {result.reason}")
    for fault in result.faults:
        figures = []
        for what in ("failover", "recovery"):
            value = fault[f"{what}_s"]
            text = "never" if value is None else f"{value:.1f} s"
            if what == "recovery" and fault["removed_at"] is None:
                text = "—"
            figures.append(f"{what} {text}" + ("" if what in fault["judge"] else " (not judged)"))
        print(f"  {fault['action']} ({fault['target']}): {', '.join(figures)}, "
              f"{fault['failed']}/{fault['requests']} requests failed during the fault")
    for note in result.notes:
        if note.startswith(("monitoring export", "--require-export")):
            print(f"  {note}")
    print(f"  report: {run_dir / 'index.html'}")
    return result.exit_code
