"""`harness report PATH`: rebuild a run's (rollout or game day) HTML, JUnit and summary.md from its saved JSON."""

from __future__ import annotations

import argparse

from harness.engine._flags import add_compare_argument

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "report",
        help="re-render a run's report from its JSON",
        description="Rebuild index.html, summary.md and junit.xml (run and stages) from summary.json "
        "and each stage's report.json.",
    )
    p.add_argument("path", nargs="?", default="reports/latest", help="run directory or its summary.json (default: reports/latest)")
    add_compare_argument(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from harness._exceptions import ReportError
    from harness.report._gate import read_summary
    from harness.report._render import render_run

    kind = read_summary(args.path).get("kind")
    before = None
    if args.compare_to:
        from pathlib import Path

        from harness.report._compare import record_comparison, resolve_compare_to
        from harness.report._store import resolve_run_dir

        run_dir = resolve_run_dir(args.path)
        before = resolve_compare_to(args.compare_to, kind=str(kind or "rollout"), reports=run_dir.parent,
                                    run_dir=run_dir)
        if before is None:
            print(f"compared with: no earlier {kind or 'rollout'} in {run_dir.parent}")
        elif Path(before).resolve() == run_dir.resolve():
            from harness._exceptions import ConfigError

            raise ConfigError(f"{args.compare_to} is the run itself", field="--compare-to")
        else:
            record_comparison(run_dir, before)
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
    if before is not None:
        from harness.report._compare import comparison_lines, load_result, recorded_comparison

        found = recorded_comparison(run_dir, load_result(run_dir))
        for line in comparison_lines(found[1], found[0]) if found else []:
            print(line)
    print(f"{run_dir / 'index.html'}")
    return 0
