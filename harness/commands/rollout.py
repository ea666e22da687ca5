"""`harness rollout`: canary stages with per-stage SLO reports, automatic rollback, a gate-able result."""

from __future__ import annotations

import argparse

from harness._duration import duration_arg
from harness._exceptions import ConfigError
from harness.engine._flags import add_run_arguments, command_line, compare_after, compare_target, run_metrics
from harness.monitoring import add_monitoring_arguments, monitoring_config_from_args

__all__ = ["register"]


def _stages(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"{text!r} is not a comma-separated list of percentages like 10,50,100", field="--stages") from None


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "rollout",
        help="roll a canary out in stages, judge each, roll back on failure",
        description="Bring up the platform (or attach), then for each stage set the canary weight, run Locust, "
        "and judge absolute SLOs, canary vs baseline and cost. Exit 0 promoted, 1 rolled back, 2 invalid "
        "input, inconclusive or incomplete, 130/143/129 stopped by SIGINT/SIGTERM/SIGHUP (faults and traffic "
        "rolled back, partial report written); reports go to OUT/<run-id>/ and OUT/latest.",
    )
    add_run_arguments(p)
    p.add_argument("--stages", default="10,50,100", metavar="PCTS", help="canary weights in percent (default: 10,50,100)")
    p.add_argument("--stage-duration", type=duration_arg, metavar="DURATION",
                   help="a fixed judged time per stage: sets both the min and the max stage duration")
    p.add_argument("--min-stage-duration", type=duration_arg, metavar="DURATION",
                   help="judged time before a stage may stop on decided evidence (default: 10s)")
    p.add_argument("--max-stage-duration", type=duration_arg, metavar="DURATION",
                   help="judged time after which undecided checks are settled or inconclusive (default: 60s)")
    p.add_argument("--warmup", type=duration_arg, default=10.0, metavar="DURATION",
                   help="unjudged time at the start of each stage (default: 10s)")
    p.add_argument("--rps", type=float, default=100.0, metavar="RATE",
                   help="target arrival rate, requests/s (default: 100, what a 2-core machine carries with the platform on it)")
    p.add_argument("--experiment", metavar="FILE", help="chaos experiment run inside every stage (default: none)")
    p.add_argument("--baseline-ref", metavar="REF",
                   help="run the baseline's services from this git ref, built in its own environment "
                        "(default with --canary-ref: the merge base with the default branch)")
    p.add_argument("--canary-ref", metavar="REF",
                   help="run the canary's services from this git ref (default with --baseline-ref: the "
                        "working tree, uncommitted changes included); builds are cached")
    p.add_argument("--prices", metavar="FILE", help="price table YAML (default: the packaged harness/data/prices.yaml)")
    p.add_argument("--max-cost-increase", type=float, default=10.0, metavar="PCT",
                   help="allowed cost increase per request, percent (default: 10)")
    add_monitoring_arguments(p)
    from harness.routers.options import add_router_arguments

    add_router_arguments(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape

    from harness.canary._cost import CostConfig
    from harness.canary._live import RollbackTally
    from harness.canary._rollout import RolloutConfig, run_rollout
    from harness.routers.options import router_options_from_args

    if args.max_cost_increase < 0:
        raise ConfigError(f"{args.max_cost_increase} must be zero or positive", field="--max-cost-increase")
    config = RolloutConfig(
        topology=args.topology,
        attach=args.attach,
        stages=_stages(args.stages),
        # sequential by default: a stage stops as soon as the evidence decides, after 10 s and
        # within 60 s; --stage-duration fixes it (min = max)
        stage_duration_s=args.stage_duration if args.stage_duration is not None else 60.0,
        min_stage_duration_s=(args.min_stage_duration if args.min_stage_duration is not None
                              else None if args.stage_duration is not None
                              else min(10.0, args.max_stage_duration or 60.0)),
        max_stage_duration_s=args.max_stage_duration,
        warmup_s=args.warmup,
        rps=args.rps,
        users=args.users,
        canary_defect=args.canary_defect,
        experiment=args.experiment,
        out=args.out,
        slo_dir=args.slo_dir,
        locustfile=args.locustfile,
        prices=args.prices,
        cost=CostConfig(max_increase=args.max_cost_increase / 100),
        live=not args.no_live,
        workers=args.workers,
        min_samples=args.min_samples,
        monitoring_interval=monitoring_config_from_args(args).interval,
        baseline_ref=args.baseline_ref,
        canary_ref=args.canary_ref,
        router=router_options_from_args(args),
        command=command_line(),
    )
    config.validate()  # every flag checked before the exporter opens a channel
    before = compare_target(args, "rollout")
    from harness.monitoring import exporter_from_args

    console = Console()
    exporter = exporter_from_args(args)
    try:
        with run_metrics(args, "rollout") as events:
            tally = RollbackTally(events)
            run_dir, run = run_rollout(config, console=console, exporter=exporter, events=events)
    finally:
        exporter.close()
    style = {0: "bold green", 1: "bold red"}.get(run.exit_code, "bold yellow")
    console.print(f"[{style}]{run.verdict.value.upper()}[/]: {escape(run.reason)}", highlight=False)
    for line in tally.lines([f"{w} %" for w in run.stages_not_run]):
        console.print(escape(line), highlight=False)
    for note in run.notes:
        if "monitoring export" in note:
            console.print(escape(note), highlight=False)
    for line in compare_after(args, "rollout", run_dir, before):
        console.print(escape(line), highlight=False)
    console.print(f"report: {run_dir / 'index.html'}", highlight=False)
    return run.exit_code
