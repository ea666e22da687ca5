"""The flags every kind of run shares, declared once so `rollout` and `gameday` read alike."""

from __future__ import annotations

import argparse
import contextlib
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

from harness._exceptions import ConfigError
from harness.engine._events import Events
from harness.engine._load import DEFAULT_LOCUSTFILE
from harness.slo._defaults import DEFAULT_MIN_SAMPLES

__all__ = ["add_compare_argument", "add_run_arguments", "command_line", "compare_after", "compare_target",
           "run_metrics"]


def add_run_arguments(p: argparse.ArgumentParser, *, compare: bool = True) -> None:
    """Platform, load and output flags: same names, metavars and defaults for every run
    (`--compare-to` only where the run compares itself with another: `compare`)."""
    p.add_argument("--topology", metavar="FILE", help="topology file (default: the packaged xynergy topology)")
    p.add_argument("--attach", metavar="STATE_FILE",
                   help="use the platform `harness up --detach` runs (its state file) instead of starting one")
    p.add_argument("--canary-defect", metavar="PROFILE", help="start the canary with a defect profile (xynergy.defects)")
    p.add_argument("--locustfile", metavar="FILE", default=str(DEFAULT_LOCUSTFILE),
                   help=f"Locust scenario (default: {DEFAULT_LOCUSTFILE})")
    p.add_argument("--scenario", dest="locustfile", help=argparse.SUPPRESS)  # the game day's former name
    p.add_argument("--users", type=int, default=0, metavar="N",
                   help="Locust users (default: 0, one per 10 req/s of --rps, 5 to 200)")
    p.add_argument("--workers", type=int, default=0, metavar="N",
                   help="Locust worker processes: a master and N local workers (default: 0, one process)")
    p.add_argument("--min-samples", type=int, default=DEFAULT_MIN_SAMPLES, metavar="N",
                   help=f"fewest samples an SLO verdict may rest on (default: {DEFAULT_MIN_SAMPLES})")
    p.add_argument("--slo-dir", default="slos", metavar="DIR", help="SLO files (default: slos/)")
    p.add_argument("--out", default="reports", metavar="DIR", help="report directory (default: reports/)")
    p.add_argument("--no-live", action="store_true",
                   help="plain progress lines instead of the live display (default: live)")
    if compare:
        add_compare_argument(p)
    p.add_argument("--metrics-port", type=int, metavar="PORT",
                   help="serve the run's own Prometheus /metrics on 127.0.0.1:PORT while it runs "
                        "(0: a free port; default: off)")
    p.add_argument("--pushgateway", metavar="HOST:PORT",
                   help="also push those metrics to a Prometheus Pushgateway at every stage end (default: off)")


@contextlib.contextmanager
def run_metrics(args: argparse.Namespace, kind: str) -> Iterator[Events]:
    """The run's events, with the Prometheus metrics listening when `--metrics-port`/`--pushgateway` ask."""
    events = Events()
    port, gateway = getattr(args, "metrics_port", None), getattr(args, "pushgateway", None)
    if port is None and gateway is None:
        yield events
        return
    if port is not None and not 0 <= port <= 65535:
        raise ConfigError(f"{port} is not a port", field="--metrics-port")
    from harness.prometheus import RunMetrics

    metrics = RunMetrics(kind, "")
    metrics.listen(events, pushgateway=gateway)
    if port is not None:
        print(f"metrics: {metrics.serve(port)}", file=sys.stderr, flush=True)
    try:
        yield events
    finally:
        metrics.close()


def add_compare_argument(p: argparse.ArgumentParser) -> None:
    """`--compare-to PATH|previous`: the same flag on rollout, gameday and report."""
    p.add_argument("--compare-to", metavar="PATH|previous",
                   help="compare with another run of the same kind: its directory, or `previous` (the newest "
                        "earlier one in the report directory); shown in the HTML run page, summary.md and here")


def command_line(argv: list[str] | None = None) -> str:
    """The command that reproduces this run, as typed (recorded as `config["command"]` for the rerun hint).

    Empty when the process is not the `harness` command (a library call, a test
    runner): then the report builds the command from the recorded config.
    """
    if argv is None:
        entry = Path(sys.argv[0])
        # the console script, or `python -m harness` (whose argv[0] is harness/__main__.py), nothing else
        if entry.name != "harness" and not (entry.name == "__main__.py" and entry.parent.name == "harness"):
            return ""
        argv = sys.argv[1:]
    return shlex.join(["harness", *argv])


def compare_target(args: argparse.Namespace, kind: str) -> Path | None:
    """Check `--compare-to PATH` before anything starts (exit 2 on a bad path); `previous` is found after the run."""
    value = getattr(args, "compare_to", None)
    if not value or value == "previous":
        return None
    from harness.report._compare import resolve_compare_to

    return resolve_compare_to(value, kind=kind, reports=getattr(args, "out", "reports"))


def compare_after(args: argparse.Namespace, kind: str, run_dir: Path, before: Path | None) -> list[str]:
    """Record the comparison beside the finished run, re-render its pages, and return the terminal's lines."""
    value = getattr(args, "compare_to", None)
    if not value:
        return []
    from harness._exceptions import HarnessError
    from harness.report._compare import comparison_lines, record_comparison, recorded_comparison, resolve_compare_to
    from harness.report._compare import load_result

    if before is None:
        before = resolve_compare_to(value, kind=kind, reports=run_dir.parent, run_dir=run_dir)
        if before is None:
            return [f"compared with: no earlier {kind} in {run_dir.parent} yet"]
    record_comparison(run_dir, before)
    try:
        if kind == "gameday":
            from harness.report._gameday import render_gameday

            render_gameday(run_dir)
        else:
            from harness.report._render import render_run

            render_run(run_dir)
        found = recorded_comparison(run_dir, load_result(run_dir))
    except HarnessError as exc:
        return [f"compared with {before}: not comparable ({exc})"]
    return comparison_lines(found[1], found[0]) if found else [f"compared with {before}: not readable"]
