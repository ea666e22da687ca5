"""`harness gate [PATH]`: exit 0/1/2 on a saved rollout report (for CI)."""

from __future__ import annotations

import argparse

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "gate",
        help="exit 0 if a rollout report passed, 1 if it failed, 2 if missing/incomplete/invalid",
        description="Read a run's summary.json and exit 0 (passed), 1 (an SLO, comparison or cost "
        "check failed), or 2 (missing, invalid, incomplete or inconclusive).",
    )
    p.add_argument("path", nargs="?", default="reports/latest", help="run directory or its summary.json (default: reports/latest)")
    p.add_argument("--all", action="store_true", help="list passing checks too")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from harness.report._gate import gate, print_gate

    outcome = gate(args.path)
    print_gate(outcome, all_checks=args.all)
    return outcome.exit_code
