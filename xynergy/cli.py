"""``python -m xynergy SERVICE --port N …``: parse, validate, serve with uvicorn.

Bad configuration (unknown service, bad or taken port, malformed defect,
missing keys, defects without ``XYNERGY_ALLOW_DEFECTS=1``) is one line on
stderr and exit 2.
SIGTERM drains: uvicorn stops accepting, in-flight requests finish (up to the
grace period), then the lifespan closes pools and the process exits 0.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence
from types import FrameType

from xynergy.common.observability import JsonFormatter
from xynergy.config import SERVICES, ConfigurationError, ServiceConfig, load_api_keys, validate_config
from xynergy.defects import ALLOW_DEFECTS_ENV, parse_defects

__all__ = ["main", "build_parser", "config_from_args", "check_port_free", "revision_from", "GRACEFUL_SHUTDOWN_S",
           "REVISION_ENV"]

GRACEFUL_SHUTDOWN_S = 15
REVISION_ENV = "K_REVISION"
"""Cloud Run sets it to the serving revision's name (e.g. ``xynergy-edge-00042-abc``)."""


def revision_from(flag: str | None, env: dict[str, str] | None = None) -> str:
    """The revision label: ``--revision``, else ``$K_REVISION``, else ``baseline``.

    On Cloud Run, samples then name the revision that really served them
    (``x-xynergy-revision``); an explicit flag still wins, as flags override
    the environment everywhere else.
    """
    if flag:
        return flag
    return (os.environ if env is None else env).get(REVISION_ENV, "").strip() or "baseline"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"xynergy: error: {message}\n")


def _pairs(flag: str, items: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise ConfigurationError(f"{flag}: expected NAME=VALUE, got {item!r}")
        out[name.strip()] = value.strip()
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m xynergy", description="Run one Xynergy reference service.")
    parser.add_argument("service", metavar="SERVICE", help=f"one of: {', '.join(SERVICES)}")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--revision", default=None,
                        help=f"revision label on responses and metrics (default ${REVISION_ENV}, as Cloud Run "
                             "sets it, else 'baseline')")
    parser.add_argument("--region", default="local", help="region label (internal-ai-service answers as it)")
    parser.add_argument("--defect", default=None, metavar="SPEC",
                        help=f"defect profile (needs {ALLOW_DEFECTS_ENV}=1), e.g. latency=150ms@0.3,breaker-off")
    parser.add_argument("--upstream", action="append", default=[], metavar="NAME=URL",
                        help="an upstream service (repeatable); names in docs/platform.md")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or None, metavar="URL",
                        help="ai-routing-engine: Redis cache (default $REDIS_URL, else in-process)")
    parser.add_argument("--canary-weight", action="append", default=[], metavar="SERVICE=PCT",
                        help="edge: initial canary share of SERVICE, 0-100 (repeatable)")
    parser.add_argument("--max-concurrency", type=int, default=50, metavar="N",
                        help="requests in flight before 503 + Retry-After (default 50)")
    parser.add_argument("--request-timeout", type=float, default=30.0, metavar="SECONDS",
                        help="answer 504 after this long (default 30)")
    parser.add_argument("--upstream-timeout", type=float, default=1.0, metavar="SECONDS",
                        help="ai-routing-engine: per-call timeout to an AI region")
    parser.add_argument("--max-body-bytes", type=int, default=2 * 1024**2, metavar="N",
                        help="largest request body, 413 beyond (default 2 MiB)")
    parser.add_argument("--body-timeout", type=float, default=10.0, metavar="SECONDS",
                        help="a request body must arrive within this, 408 otherwise (default 10)")
    parser.add_argument("--max-header-bytes", type=int, default=64 * 1024, metavar="N",
                        help="request line plus headers, 431 beyond (default 64 KiB)")
    parser.add_argument("--header-timeout", type=float, default=10.0, metavar="SECONDS",
                        help="a request head must be complete within this, 408 otherwise (default 10)")
    parser.add_argument("--access-log", action="store_true", help="one JSON line per request")
    return parser


def config_from_args(args: argparse.Namespace) -> ServiceConfig:
    """Turn parsed flags (and the environment) into a validated ``ServiceConfig``."""
    if args.service not in SERVICES:
        raise ConfigurationError(f"unknown service {args.service!r} (choose from {', '.join(SERVICES)})")
    if args.defect is not None and os.environ.get(ALLOW_DEFECTS_ENV) != "1":
        raise ConfigurationError(f"--defect refused: set {ALLOW_DEFECTS_ENV}=1 to start a defective revision")
    try:
        defects = parse_defects(args.defect)
    except ValueError as exc:
        raise ConfigurationError(f"--defect: {exc}") from None
    weights: dict[str, int] = {}
    for name, pct in _pairs("--canary-weight", args.canary_weight).items():
        try:
            weights[name] = int(pct)
        except ValueError:
            raise ConfigurationError(f"--canary-weight {name}: percent must be an integer, got {pct!r}") from None
    config = ServiceConfig(
        service=args.service, api_keys=load_api_keys(), host=args.host, port=args.port,
        revision=revision_from(args.revision), region=args.region, defects=defects,
        upstreams=_pairs("--upstream", args.upstream), redis_url=args.redis_url, canary_weights=weights,
        max_concurrency=args.max_concurrency, request_timeout_s=args.request_timeout, access_log=args.access_log,
        upstream_timeout_s=args.upstream_timeout, max_body_bytes=args.max_body_bytes,
        body_timeout_s=args.body_timeout, max_header_bytes=args.max_header_bytes, header_timeout_s=args.header_timeout,
    )
    validate_config(config)
    return config


def check_port_free(host: str, port: int) -> None:
    """Raise ``ConfigurationError`` if ``host:port`` cannot be bound (taken, or no such address)."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ConfigurationError(f"--host/--port: cannot bind {host}:{port}: {exc.strerror}") from None


def _configure_logging(config: ServiceConfig) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(config.service, config.revision, config.region))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    # httpx logs every request it sends at INFO: one JSON line per upstream call
    # was 6 % of the edge's CPU. Per-request lines are --access-log's job.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def serve(config: ServiceConfig) -> None:
    """Run ``config``'s service until SIGTERM/SIGINT (blocking)."""
    import prometheus_client
    import uvicorn

    from xynergy.app import create_app
    from xynergy.common.clients import skip_sniffio_probe
    from xynergy.common.server import guarded_protocol

    prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]  # process-wide, so only here, never on import
    skip_sniffio_probe()
    _configure_logging(config)
    app = create_app(config)
    # uvicorn drains on SIGTERM, then re-raises the signal with the handler it
    # found; make that handler a clean exit so a drained service exits 0.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    # Everything built so far (modules, app, routes) lives for the whole run:
    # freeze it out of the collector's sight, and collect the young generation
    # less often. A request allocates hundreds of short-lived container
    # objects, so with the default threshold (700) the collector ran several
    # times per request and walked the whole app each full pass.
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)
    uvicorn.run(
        app, host=config.host, port=config.port, log_config=None, access_log=False,
        loop="auto", http=guarded_protocol(config.max_header_bytes, config.header_timeout_s),
        ws="websockets-sansio", lifespan="on", server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S, timeout_keep_alive=30, backlog=2048,
    )


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m xynergy``; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        config = config_from_args(args)
        check_port_free(config.host, config.port)
    except ConfigurationError as exc:
        print(f"xynergy: error: {exc}", file=sys.stderr)
        return 2
    try:
        serve(config)
    except KeyboardInterrupt:
        return 0
    return 0
