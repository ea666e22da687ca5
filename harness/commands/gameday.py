"""`harness gameday`: run a chaos experiment under load and judge failover and recovery."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness._duration import duration_arg
from harness.engine._flags import add_run_arguments, command_line, compare_after, compare_target, run_metrics

from harness.monitoring import add_monitoring_arguments, monitoring_config_from_args

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "gameday",
        help="run a chaos experiment under load; measure failover and recovery; judge against the SLOs",
        description="Bring up the platform (or attach to one), check the steady state under load, run the "
        "experiment's fault timeline beside the load, always roll every fault back, then judge the steady "
        "state after, failover/recovery (slos/failover.yaml) and the experiment's checks. Writes "
        "reports/<run-id>/ (index.html, report.json, summary.json, junit.xml, summary.md; journal.json for a Chaos "
        "Toolkit file). Exit codes: 0 pass, "
        "1 a check failed or the steady state did not hold before chaos, 2 invalid input, inconclusive or "
        "incomplete, 130/143/129 stopped by SIGINT/SIGTERM/SIGHUP (faults and traffic rolled back, Locust "
        "stopped, partial report written).",
    )
    p.add_argument("experiment", metavar="FILE",
                   help="experiment file: the harness's (chaos/region-outage.yaml) or a Chaos Toolkit experiment, "
                   "JSON or YAML (chaos/ctk/latency-on-ai-routing.json), run by chaostoolkit-lib with "
                   "chaostoolkit-toxiproxy pointed at the harness's Toxiproxy; its journal.json goes in the report")
    add_run_arguments(p)
    p.add_argument("--rps", type=float, metavar="RATE", help="target request rate (default: the file's load.rps, else 20)")
    p.add_argument("--duration", type=duration_arg, metavar="DURATION",
                   help="load duration, e.g. 60s (default: the file's load.duration, else the method + steady tail)")
    p.add_argument("--canary-weight", type=int, metavar="PCT",
                   help="share of traffic sent to the canary (default: 100 with --canary-defect, else 0)")
    add_monitoring_arguments(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from harness._exceptions import ConfigError
    from harness.chaos import GameDayConfig, run_gameday

    duration = args.duration
    if duration is not None and duration <= 0:
        raise ConfigError("must be longer than zero", field="--duration")
    if args.rps is not None and args.rps <= 0:
        raise ConfigError(f"must be positive, got {args.rps:g}", field="--rps")
    if args.canary_weight is not None and not 0 <= args.canary_weight <= 100:
        raise ConfigError(f"must be 0-100, got {args.canary_weight}", field="--canary-weight")
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
        locustfile=Path(args.locustfile),
        canary_defect=args.canary_defect,
        canary_weight=args.canary_weight,
        min_samples=args.min_samples,
        users=args.users,
        live=not args.no_live,
        workers=args.workers,
        monitoring_interval=monitoring.interval,
        extra={"command": command} if (command := command_line()) else {},
    )
    before = compare_target(args, "gameday")
    from harness.canary._live import RollbackTally
    from harness.monitoring import exporter_from_args

    exporter = exporter_from_args(args)
    try:
        with run_metrics(args, "gameday") as events:
            tally = RollbackTally(events)
            result = run_gameday(config, exporter=exporter, events=events)
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
    for check in result.checks:  # service time and, beside it, from when each request was due
        co = check.extra.get("co_corrected_ms")
        if check.value is not None and co is not None:
            print(f"  {check.name} ({check.scope}): {check.value:.1f} ms service time, {co:.1f} ms CO-corrected")
    for line in tally.lines([] if result.faults else ["fault timeline"]):
        print(f"  {line}")
    for note in result.notes:
        if note.startswith(("monitoring export", "--require-export")):
            print(f"  {note}")
    for line in compare_after(args, "gameday", run_dir, before):
        print(f"  {line}")
    print(f"  report: {run_dir / 'index.html'}")
    return result.exit_code
