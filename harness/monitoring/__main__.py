"""`python -m harness.monitoring`: a local MetricService emulator to point the harness at.

    python -m harness.monitoring --port 8085 &
    harness rollout --gcp-project demo-project --monitoring-endpoint 127.0.0.1:8085

It prints one line per call it receives and, on Ctrl-C or SIGTERM, a summary
of the metric types written. Everything is kept in memory and lost on exit.
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys
import threading
from collections import Counter
from collections.abc import Sequence
from types import FrameType
from typing import Any

from harness.monitoring._fake import FakeMetricService

__all__ = ["main"]


def _describe(name: str, request: Any) -> str:
    if name == "CreateTimeSeries":
        types = Counter(series.metric.type.rsplit("/", 1)[-1] for series in request.time_series)
        counted = ", ".join(f"{t} x{n}" for t, n in sorted(types.items()))
        return f"{name} {request.name}: {len(request.time_series)} series ({counted})"
    if name == "CreateMetricDescriptor":
        return f"{name} {request.name}: {request.metric_descriptor.type}"
    return f"{name} {request.name}: {request.filter}"


def _unbindable(host: str, port: int) -> str | None:
    """Why (host, port) cannot be bound, or None."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.bind((host, port))
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until interrupted; exit code 0 (2 for a bad flag or a port in use)."""
    parser = argparse.ArgumentParser(
        prog="python -m harness.monitoring", description="Local Cloud Monitoring MetricService emulator (in memory)."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: any free port, printed)")
    parser.add_argument("--quiet", action="store_true", help="do not print a line per call")
    args = parser.parse_args(argv)

    def log(name: str, request: Any) -> None:
        if not args.quiet:
            print(_describe(name, request), flush=True)

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    problem = _unbindable(args.host, args.port)
    if problem is not None:  # checked first: gRPC would log a multi-line error of its own
        print(f"python -m harness.monitoring: error: --host {args.host} --port {args.port}: {problem}", file=sys.stderr)
        return 2
    fake = FakeMetricService(args.host, args.port, on_call=log).start()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"monitoring emulator listening on {fake.endpoint}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        fake.stop()
    written = Counter(series.metric.type for series in fake.stored)
    print(f"received {len(fake.calls)} call(s); points by metric type:", flush=True)
    for metric_type, count in sorted(written.items()):
        print(f"  {metric_type}: {count}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
