"""`harness coldstart`: start each service N times; min/median/max cold start, judged against the SLO."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from harness.commands.up import add_platform_args

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "coldstart",
        help="measure each service's cold start N times and judge it against slos/cold-start.yaml",
        description="Bring the platform up, then restart every spawned service N times, one at a time, "
        "measuring spawn → first 200 on /readyz and spawn → first successful real request. Prints "
        "min/median/max per service and each one's idle RSS; the worst (or, with --judge median, the median) "
        "readiness time is judged against the cold-start SLO. Exit 0 all pass, 1 any fails, 2 inconclusive or invalid input.",
    )
    add_platform_args(p)
    p.add_argument("--repeat", type=_positive, default=3, metavar="N", help="starts per service (default 3)")
    p.add_argument("--slo", default="slos/cold-start.yaml", metavar="FILE",
                   help="cold-start SLO file (default: slos/cold-start.yaml)")
    p.add_argument("--judge", choices=("max", "median"), default="max",
                   help="which readiness time meets the SLO: max (every start; default) or median")
    p.add_argument("--only", action="append", metavar="INSTANCE", help="measure only this instance (repeatable)")
    p.add_argument("--json", metavar="FILE", help="also write every start, the summaries and checks as JSON")
    p.set_defaults(func=_run)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--repeat must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"--repeat must be a positive integer, got {text!r}")
    return value


def _run(args: argparse.Namespace) -> int:
    from harness._exceptions import ConfigError
    from harness._verdicts import combine_verdicts
    from harness.slo import load_slos
    from harness.topology import Platform, load_topology
    from harness.topology._coldstart import judge_cold_starts, measure_cold_starts, summarize
    from harness.topology._table import coldstart_table, print_table

    load_slos(args.slo)  # a bad SLO file fails before anything starts
    topology = load_topology(args.topology)
    spawned = [i.name for i in topology.instances() if not i.service.external]
    names = args.only or spawned
    unknown = sorted(set(names) - set(spawned))
    if unknown:
        raise ConfigError(f"no spawned instance {unknown[0]!r}; known: {', '.join(spawned)}", source="--only")
    run_dir = Path(".harness") / time.strftime("coldstart-%Y%m%d-%H%M%S")
    with Platform.up(topology, args.canary_defect, run_dir=run_dir, sample_interval=0) as platform:
        starts = measure_cold_starts(platform, names, args.repeat)
        idle_rss = platform.idle_rss_mib(names)
    summaries = summarize(starts)
    checks = judge_cold_starts(summaries, args.slo, statistic=args.judge)
    print_table(coldstart_table(summaries, checks, idle_rss))
    if args.json:
        Path(args.json).write_text(json.dumps({
            "starts": [s.as_dict() for s in starts],
            "summaries": [s.as_dict() for s in summaries],
            "checks": [c.to_dict() for c in checks.values()],
            "idle_rss_mib": idle_rss,
        }, indent=2))
    return combine_verdicts(c.verdict for c in checks.values()).exit_code
