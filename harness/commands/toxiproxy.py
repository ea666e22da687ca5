"""`harness toxiproxy`: run the embedded Toxiproxy-compatible server."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness._exceptions import ConfigError

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add `toxiproxy [--host H] [--port P] [--config FILE] [--seed N] [--proxy-metrics] [--runtime-metrics]`.

    Each flag also takes toxiproxy-server's single-dash spelling (`-port 0`,
    `-proxy-metrics`), so scripts written for the real server run unchanged.
    """
    parser = subparsers.add_parser(
        "toxiproxy",
        help="run the embedded Toxiproxy-compatible server (API of toxiproxy-server 2.12.0)",
        description=(
            "Serve the Toxiproxy 2.x HTTP API and its TCP proxies in one process, so no Go "
            "toolchain is needed. Stops cleanly on SIGTERM or Ctrl-C."
        ),
    )
    parser.add_argument("--host", "-host", default="127.0.0.1", help="API address to bind (default 127.0.0.1)")
    parser.add_argument("--port", "-port", type=int, default=8474, help="API port (default 8474; 0 picks a free one)")
    parser.add_argument("--config", "-config", type=Path, help="JSON array of proxies to create at start (as /populate)")
    parser.add_argument("--seed", "-seed", type=int, help="seed toxicity rolls, jitter and slicer cuts (repeatable runs)")
    parser.add_argument("--proxy-metrics", "-proxy-metrics", action="store_true",
                        help="serve /metrics with toxiproxy_proxy_{received,sent}_bytes_total per link direction")
    parser.add_argument("--runtime-metrics", "-runtime-metrics", action="store_true",
                        help="serve /metrics with the process_* (and python_*) runtime metrics")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"{args.port} is not a TCP port (0-65535)", field="--port")
    from harness.toxiproxy._server import run_server

    return run_server(
        args.host, args.port, config=args.config, seed=args.seed,
        proxy_metrics=args.proxy_metrics, runtime_metrics=args.runtime_metrics,
    )
