"""`harness up`: start the platform on loopback behind Toxiproxy and keep it up until Ctrl-C."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "up",
        help="start the platform (Toxiproxy, Redis, every service) and keep it up until Ctrl-C",
        description="Start every service of the topology on 127.0.0.1, each link through a named Toxiproxy "
        "proxy, wait until all are ready, print them, and keep running until Ctrl-C or SIGTERM (then tear "
        "everything down). With --detach, leave it running under a supervisor process; `harness status` and "
        "`harness down` find it through the state file. TOXIPROXY_URL: use that Toxiproxy server instead of "
        "the embedded one. XYNERGY_API_KEY: the API key every service gets (default: a random key per run; "
        "needed for external services).",
    )
    add_platform_args(p)
    p.add_argument("--detach", action="store_true", help="leave the platform running and return")
    p.add_argument("--state", default=".harness/state.json", help="state file (default: .harness/state.json)")
    p.set_defaults(func=_run)


def add_platform_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--topology", metavar="FILE", help="topology file (default: the shipped xynergy.yaml)")
    p.add_argument("--canary-defect", metavar="PROFILE",
                   help="start the canary with this defect profile (e.g. latency, errors=0.05)")


def _run(args: argparse.Namespace) -> int:
    from harness.topology import Platform, load_topology
    from harness.topology._launch import make_plan
    from harness.topology._supervisor import detach, refuse_if_running, serving, wait_for_stop
    from harness.topology._table import platform_table, print_table, resources_table

    state_path = Path(args.state)
    refuse_if_running(state_path)
    topology = load_topology(args.topology)  # invalid input fails here, before anything starts
    # ports and --canary-defect too (the Toxiproxy port is checked when it is spawned)
    make_plan(topology, api_key="-", canary_defect=args.canary_defect, toxiproxy_url="http://127.0.0.1:1")
    run_dir = Path(".harness") / time.strftime("run-%Y%m%d-%H%M%S")
    if args.detach:
        state: dict[str, Any] = detach(state_path, topology=args.topology, canary_defect=args.canary_defect, run_dir=run_dir)
        print_table(platform_table(state))
        _print_footer(state, state_path)
        print(f"detached: supervisor pid {state['supervisor']['pid']}; stop it with `harness down`")
        return 0
    with Platform.up(topology, args.canary_defect, run_dir=run_dir) as platform:
        try:  # once up, Ctrl-C/SIGTERM is the normal way to stop (exit 0)
            with serving(platform, state_path):
                state = platform.describe()
                print_table(platform_table(state))
                _print_footer(state, state_path)
                print("up; Ctrl-C to stop", flush=True)
                wait_for_stop()
        except KeyboardInterrupt:
            pass
        print_table(resources_table(platform.memory_growth(), platform.resource_samples()))
    print("stopped; every process torn down", flush=True)
    return 0


def _print_footer(state: dict[str, Any], state_path: Path) -> None:
    redis = state.get("redis") or {}
    print(f"entry:     {state['edge_url']}  (through its client-> proxy)")
    print(f"toxiproxy: {state['toxiproxy_url']}")
    print(f"redis:     {redis.get('mode')} {redis.get('url') or ''}".rstrip())
    print(f"state:     {state_path}  (API key inside; `harness status --show-key`)")
    print(f"logs:      {state.get('logs')}")
