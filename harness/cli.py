"""The `harness` command line: parse, delegate, map errors to exit codes.

Each subcommand lives in its own module under `harness.commands` and exposes

    def register(subparsers: argparse._SubParsersAction) -> None

which adds its parser and sets `func=<handler>`; a handler takes the parsed
namespace and returns the exit code. This module only wires them together.

Exit codes (everywhere): 0 pass, 1 SLO breach / rollback, 2 invalid input or
incomplete run, 130 interrupted (Ctrl-C) after rollbacks ran.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from harness import commands
from harness._exceptions import HarnessError

__all__ = ["main", "build_parser"]


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """Build the parser with every subcommand found in `harness.commands`."""
    parser = _Parser(
        prog="harness",
        description="Load-testing and chaos-validation harness for the Xynergy platform.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the harness CLI and return its exit code (also used by the console script)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = int(args.func(args))
    except HarnessError as exc:
        print(f"harness: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("harness: interrupted; rollbacks ran", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
