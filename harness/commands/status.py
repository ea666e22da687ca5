"""`harness status`: what a detached (or foreground) `harness up` is running, and whether it is healthy."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "status",
        help="show the running platform from its state file (exit 0 all ready, 1 something down, 2 none up)",
        description="Read the state file written by `harness up`, probe every instance's /readyz and print "
        "a table. Exit 0 when every instance is ready, 1 when any is not, 2 when no platform is up "
        "(no state file, or its supervisor is dead).",
    )
    p.add_argument("--state", default=".harness/state.json", help="state file (default: .harness/state.json)")
    p.add_argument("--show-key", action="store_true", help="also print the run's API key")
    p.add_argument("--json", action="store_true", help="print the state (with health) as JSON")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import httpx

    from harness.topology._process import pid_alive
    from harness.topology._state import read_state
    from harness.topology._table import platform_table, print_table

    state = read_state(Path(args.state))
    health: dict[str, str] = {}
    with httpx.Client(timeout=1.0) as client:
        for name, inst in state["instances"].items():
            if inst.get("pid") and not pid_alive(int(inst["pid"]), inst.get("create_time")):
                health[name] = "dead"
                continue
            url = f"{inst['url']}/readyz" if inst["kind"] not in ("redis", "toxiproxy") else None
            if url is None:
                health[name] = "running"
                continue
            try:
                code = client.get(url).status_code
                health[name] = "ready" if code == 200 else f"not ready ({code})"
            except httpx.HTTPError as exc:
                health[name] = f"unreachable ({type(exc).__name__})"
    sup = state["supervisor"]
    sup_alive = pid_alive(int(sup["pid"]), sup.get("create_time"))
    if args.json:
        print(json.dumps({**state, "health": health, "supervisor_alive": sup_alive,
                          "api_key": state["api_key"] if args.show_key else "***"}, indent=2))
    else:
        print_table(platform_table(state, health))
        print(f"edge: {state['edge_url']}   toxiproxy: {state['toxiproxy_url']}   "
              f"supervisor pid {sup['pid']} ({'alive' if sup_alive else 'DEAD'})")
        if args.show_key:
            print(f"api key: {state['api_key']}")
    if not sup_alive:
        return 2  # nothing owns the platform any more: not a health verdict, a platform that is gone
    return 0 if all(h in ("ready", "running") for h in health.values()) else 1
