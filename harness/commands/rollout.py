"""`harness rollout`: canary stages with per-stage SLO reports, automatic rollback, a gate-able result."""

from __future__ import annotations

import argparse
import re

from harness._exceptions import ConfigError
from harness.monitoring import add_monitoring_arguments, monitoring_config_from_args

__all__ = ["register", "parse_seconds"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


def parse_seconds(text: str, flag: str) -> float:
    """'60s', '1.5m', '500ms', '90' (seconds) → seconds; errors name the flag."""
    m = _DURATION.match(text)
    if not m:
        raise ConfigError(f"{text!r} is not a duration like 60s, 2m or 500ms", field=flag)
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]


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
        "input, inconclusive or incomplete; reports go to OUT/<run-id>/ and OUT/latest.",
    )
    p.add_argument("--topology", help="topology file (default: the packaged xynergy topology)")
    p.add_argument("--attach", metavar="STATE_FILE", help="use a platform already up (harness up) instead of starting one")
    p.add_argument("--stages", default="10,50,100", help="canary weights in percent (default: 10,50,100)")
    p.add_argument("--stage-duration", default="60s", help="judged time per stage (default: 60s)")
    p.add_argument("--warmup", default="10s", help="unjudged time at the start of each stage (default: 10s)")
    p.add_argument("--rps", type=float, default=200.0, help="target arrival rate, requests/s (default: 200)")
    p.add_argument("--users", type=int, default=0, help="Locust users (default: one per 10 req/s)")
    p.add_argument("--canary-defect", metavar="PROFILE", help="defect profile for the canary (xynergy.defects)")
    p.add_argument("--experiment", metavar="FILE", help="chaos experiment run inside every stage")
    p.add_argument("--locustfile", default="scenarios/platform.py", help="scenario (default: scenarios/platform.py)")
    p.add_argument("--slo-dir", default="slos", help="SLO files (default: slos/)")
    p.add_argument("--prices", help="price table YAML (default: the packaged harness/data/prices.yaml)")
    p.add_argument("--max-cost-increase", type=float, default=10.0, help="allowed cost increase per request, percent (default: 10)")
    p.add_argument("--out", default="reports", help="report directory (default: reports/)")
    p.add_argument("--no-live", action="store_true", help="no live progress display")
    p.add_argument("--workers", type=int, default=0,
                   help="Locust worker processes: a master and N local workers (default: 0, one process)")
    add_monitoring_arguments(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape

    from harness.canary._cost import CostConfig
    from harness.canary._rollout import RolloutConfig, run_rollout

    if args.max_cost_increase < 0:
        raise ConfigError(f"{args.max_cost_increase} must be zero or positive", field="--max-cost-increase")
    if args.users < 0:
        raise ConfigError(f"{args.users} must be zero or positive", field="--users")
    config = RolloutConfig(
        topology=args.topology,
        attach=args.attach,
        stages=_stages(args.stages),
        stage_duration_s=parse_seconds(args.stage_duration, "--stage-duration"),
        warmup_s=parse_seconds(args.warmup, "--warmup"),
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
        monitoring_interval=monitoring_config_from_args(args).interval,
    )
    config.validate()  # every flag checked before the exporter opens a channel
    from harness.monitoring import exporter_from_args

    console = Console()
    exporter = exporter_from_args(args)
    try:
        run_dir, run = run_rollout(config, console=console, exporter=exporter)
    finally:
        exporter.close()
    style = {0: "bold green", 1: "bold red"}.get(run.exit_code, "bold yellow")
    console.print(f"[{style}]{run.verdict.value.upper()}[/]: {escape(run.reason)}", highlight=False)
    for note in run.notes:
        if "monitoring export" in note:
            console.print(escape(note), highlight=False)
    console.print(f"report: {run_dir / 'index.html'}", highlight=False)
    return run.exit_code
