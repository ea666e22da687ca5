"""`harness gate [PATH] [--kind rollout|gameday]`: exit 0/1/2 on a saved run (for CI)."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "gate",
        help="exit 0 if a run passed, 1 if it failed, 2 if missing/incomplete/invalid/inconsistent",
        description="Read a run's summary.json, recompute its verdict from its stages and checks, and exit "
        "0 (passed), 1 (an SLO, comparison or cost check failed), or 2 (missing, invalid, incomplete, "
        "inconclusive, inconsistent, or of another kind than --kind).",
    )
    p.add_argument(
        "path", nargs="?", default=None, metavar="PATH",
        help="run directory or its summary.json (default: reports/latest-KIND with --kind when it exists, "
        "else reports/latest)",
    )  # fmt: skip
    p.add_argument(
        "--kind", choices=("rollout", "gameday"), default=None,
        help="refuse (exit 2) a report of another kind (default: accept either)",
    )  # fmt: skip
    p.add_argument("--all", action="store_true", help="list passing checks too")
    p.set_defaults(func=_run)


def _default_path(kind: str | None) -> str:
    if kind is not None and Path(f"reports/latest-{kind}").exists():
        return f"reports/latest-{kind}"
    return "reports/latest"


def _run(args: argparse.Namespace) -> int:
    from harness.report._gate import gate, print_gate

    outcome = gate(args.path if args.path is not None else _default_path(args.kind), kind=args.kind)
    print_gate(outcome, all_checks=args.all)
    return outcome.exit_code
