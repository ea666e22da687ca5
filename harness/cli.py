"""The `harness` command line: parse, delegate, map errors to exit codes.

Each subcommand lives in its own module under `harness.commands`, named after
the command (`harness up` → `harness/commands/up.py`), and exposes

    def register(subparsers: argparse._SubParsersAction) -> None

which adds its parser and sets `func=<handler>`; a handler takes the parsed
namespace and returns the exit code. This module only wires them together.

Only the module of the command being run is imported (all of them for
`--help` or an unknown command), so `harness toxiproxy` or `harness gate` do
not pay for pandas, scipy or gRPC imported by other commands.

Exit codes (everywhere): 0 pass, 1 SLO breach / rollback, 2 invalid input or
incomplete run, 130 / 143 / 129 stopped by SIGINT / SIGTERM / SIGHUP after
every rollback ran (faults removed, traffic restored, load stopped, partial
report written).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import signal
import sys
from collections.abc import Sequence

from harness import commands
from harness._exceptions import HarnessError

__all__ = ["main", "build_parser"]


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def _command_modules() -> list[str]:
    return sorted(
        info.name for info in pkgutil.iter_modules(commands.__path__) if not info.name.startswith("_")
    )


def _requested_command(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line, when it has a module."""
    for arg in argv:
        if arg.startswith("-"):
            return None  # a top-level option such as --help: build everything
        return arg if arg in _command_modules() else None
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Build the parser with the subcommands in `harness.commands` (or just `only`)."""
    parser = _Parser(
        prog="harness",
        description="Load-testing and chaos-validation harness for the Xynergy platform.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for name in [only] if only else _command_modules():
        module = importlib.import_module(f"{commands.__name__}.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the harness CLI and return its exit code (also used by the console script)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(only=_requested_command(argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # a usage error (one line, already printed) or --help
        return exc.code if isinstance(exc.code, int) else 2
    try:
        code = int(args.func(args))
    except HarnessError as exc:
        print(f"harness: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:  # `Stopped` for SIGINT/SIGTERM/SIGHUP once the run is under way
        from harness.topology._process import Stopped

        code = exc.exit_code if isinstance(exc, Stopped) else 130
        name = f" ({signal.Signals(exc.signum).name})" if isinstance(exc, Stopped) else ""
        print(f"harness: interrupted; rollbacks ran{name}", file=sys.stderr)
        return code
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
