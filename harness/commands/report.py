"""`harness report PATH`: rebuild a run's (rollout or game day) HTML, JUnit and summary.md from its saved JSON."""

from __future__ import annotations

import argparse

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "report",
        help="re-render a run's report from its JSON",
        description="Rebuild index.html, summary.md and junit.xml (run and stages) from summary.json "
        "and each stage's report.json.",
    )
    p.add_argument("path", nargs="?", default="reports/latest", help="run directory or its summary.json (default: reports/latest)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from harness._exceptions import ReportError
    from harness.report._gate import read_summary
    from harness.report._render import render_run

    kind = read_summary(args.path).get("kind")
    try:
        if kind == "gameday":
            from harness.report._gameday import render_gameday

            run_dir = render_gameday(args.path)
        else:
            run_dir = render_run(args.path)
    except (UnicodeDecodeError, RecursionError, MemoryError) as exc:  # a stage's report.json, hostile
        raise ReportError(f"{args.path}: a report file is not readable JSON ({type(exc).__name__})") from None
    except ValueError as exc:  # json.loads' digit limit, or a malformed value in a report
        raise ReportError(f"{args.path}: invalid report ({str(exc).splitlines()[0][:120] if str(exc) else 'ValueError'})") from None
    print(f"{run_dir / 'index.html'}")
    return 0
