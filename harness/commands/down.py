"""`harness down`: stop the platform a `harness up --detach` left running."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "down",
        help="stop the platform recorded in the state file (toxics removed, every process stopped)",
        description="SIGTERM the platform's supervisor, which removes toxics and stops every child "
        "(SIGTERM, then SIGKILL after a grace period); anything still alive afterwards is killed. "
        "Exit 0 also when nothing was up.",
    )
    p.add_argument("--state", default=".harness/state.json", help="state file (default: .harness/state.json)")
    p.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for a clean stop (default 20)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from harness.topology._state import read_state, remove_state, stop_recorded

    path = Path(args.state)
    if not path.exists():
        print(f"nothing is up ({path} not found)")
        return 0
    state = read_state(path)
    killed = stop_recorded(state, timeout=args.timeout)
    remove_state(path)
    n = len(state["instances"])
    if killed:
        print(f"stopped; had to SIGKILL: {', '.join(killed)}")
    else:
        print(f"stopped the platform ({n} instances, supervisor pid {state['supervisor']['pid']})")
    return 0
