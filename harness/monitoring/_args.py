"""The monitoring flags shared by `harness rollout` and `harness gameday`.

Each flag falls back to an environment variable (flag wins):

    --gcp-project PROJECT          GOOGLE_CLOUD_PROJECT          nothing is sent without one
    --monitoring-endpoint H:PORT   XYNERGY_MONITORING_ENDPOINT   emulator / test server on loopback
    --monitoring-interval DURATION XYNERGY_MONITORING_INTERVAL   live export period (0 = off, else >= 5s)
    --monitoring-timeout DURATION  XYNERGY_MONITORING_TIMEOUT    total time budget of one export

Durations use the harness's one grammar (`harness._duration`: `500ms`, `30s`,
`2m`, `1h`; a bare number is refused), except that an interval of `0` means off.
    --require-export               XYNERGY_REQUIRE_EXPORT=1      an export failure fails the run (exit 2)
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from typing import TYPE_CHECKING

from harness._duration import parse_duration
from harness._exceptions import ConfigError

if TYPE_CHECKING:  # imported on use: adding the flags must not load the client library
    from harness.monitoring._export import MonitoringExporter

__all__ = [
    "MonitoringConfig",
    "add_monitoring_arguments",
    "exporter_from_args",
    "loopback_endpoint",
    "monitoring_config_from_args",
]

MIN_LIVE_INTERVAL = 5.0
"""Cloud Monitoring accepts one point per time series every 5 seconds."""

_LOOPBACK_NAMES = {"localhost"}


@dataclass(frozen=True)
class MonitoringConfig:
    """Resolved monitoring settings (flags over environment)."""

    project: str | None
    endpoint: str | None
    interval: float
    timeout: float
    require_export: bool


def add_monitoring_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the Cloud Monitoring flags (an argument group) to a subcommand's parser."""
    group = parser.add_argument_group("Cloud Monitoring export")
    group.add_argument(
        "--gcp-project", metavar="PROJECT",
        help="GCP project to export results to, with Application Default Credentials "
        "(env GOOGLE_CLOUD_PROJECT); without one nothing is sent",
    )  # fmt: skip
    group.add_argument(
        "--monitoring-endpoint", metavar="HOST:PORT",
        help="an emulator or test server on loopback instead of monitoring.googleapis.com: "
        "insecure channel, no credentials (env XYNERGY_MONITORING_ENDPOINT)",
    )  # fmt: skip
    group.add_argument(
        "--monitoring-interval", metavar="DURATION",
        help="also export live snapshots every DURATION while a stage runs, e.g. 30s or 1m "
        "(default: 0, off; else at least 5s; env XYNERGY_MONITORING_INTERVAL)",
    )  # fmt: skip
    group.add_argument(
        "--monitoring-timeout", metavar="DURATION",
        help="total time one export may take, retries included (default: 15s; env XYNERGY_MONITORING_TIMEOUT)",
    )  # fmt: skip
    group.add_argument(
        "--require-export", action="store_true", default=None,
        help="fail the run (exit 2) when the export fails (env XYNERGY_REQUIRE_EXPORT=1)",
    )  # fmt: skip


def monitoring_config_from_args(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> MonitoringConfig:
    """Resolve flags and environment into a validated `MonitoringConfig` (ConfigError names the flag)."""
    env = os.environ if environ is None else environ

    def pick(attr: str, var: str) -> tuple[str | None, str]:
        value = getattr(args, attr, None)
        if value not in (None, ""):
            return str(value), "--" + attr.replace("_", "-")
        return (env.get(var) or None), var

    project, _ = pick("gcp_project", "GOOGLE_CLOUD_PROJECT")
    endpoint, endpoint_src = pick("monitoring_endpoint", "XYNERGY_MONITORING_ENDPOINT")
    interval_text, interval_src = pick("monitoring_interval", "XYNERGY_MONITORING_INTERVAL")
    timeout_text, timeout_src = pick("monitoring_timeout", "XYNERGY_MONITORING_TIMEOUT")
    require_flag = getattr(args, "require_export", None)
    require = bool(require_flag) or env.get("XYNERGY_REQUIRE_EXPORT", "").strip().lower() in ("1", "true", "yes")

    if project is not None and not re.fullmatch(r"(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]", project):
        raise ConfigError(f"not a GCP project id: {project!r}", source="--gcp-project")
    interval = _seconds(interval_text, interval_src, default=0.0, zero_is_off=True)
    if 0 < interval < MIN_LIVE_INTERVAL:
        problem = f"must be 0 (off) or at least {MIN_LIVE_INTERVAL:g}s, got {interval_text}"
        raise ConfigError(problem, source=interval_src)
    timeout = _seconds(timeout_text, timeout_src, default=15.0)
    if timeout <= 0:
        raise ConfigError(f"must be positive, got {timeout_text}", source=timeout_src)
    if endpoint is not None:
        endpoint = loopback_endpoint(endpoint, endpoint_src)
    if require and project is None:
        raise ConfigError("needs a project: set --gcp-project or GOOGLE_CLOUD_PROJECT", source="--require-export")
    return MonitoringConfig(
        project=project, endpoint=endpoint, interval=interval, timeout=timeout, require_export=require
    )


def exporter_from_args(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> MonitoringExporter:
    """A `MonitoringExporter` built from the flags; disabled (sends nothing) without a project.

    Raises `ConfigError` for a bad flag, and `ExportError` at once when
    `--require-export` is set but no credentials can be found.
    """
    config = monitoring_config_from_args(args, environ)  # every flag checked before gRPC loads
    _prepare_process_for_export()
    from harness.monitoring._export import MonitoringExporter

    return MonitoringExporter(
        config.project, endpoint=config.endpoint, timeout=config.timeout, require_export=config.require_export
    )


def _prepare_process_for_export() -> None:
    """Make this process safe to hold a gRPC channel while it forks; runs before gRPC is imported.

    The orchestrator opens the Cloud Monitoring channel and then forks the
    platform's services and Locust. With gRPC's fork support on, its at-fork
    handlers run in each child before `exec` and can abort it (exit -6,
    "epoll_wait error: Bad file descriptor", measured with a service failing
    to start). The children exec at once and never use gRPC, so the handlers
    buy nothing here. A value the user set wins. Export outcomes are returned
    to the caller (and kept in the report), so the exporter's log warnings
    must not add a second stderr line to the CLI's one-line error contract.
    """
    os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
    log = logging.getLogger("harness.monitoring")
    if not log.handlers:
        log.addHandler(logging.NullHandler())


def _seconds(text: str | None, source: str, *, default: float, zero_is_off: bool = False) -> float:
    """A duration flag or variable in the one grammar; `0` alone is allowed where it means off."""
    if text is None:
        return default
    if zero_is_off and text.strip() == "0":
        return 0.0
    try:
        return parse_duration(text)
    except ConfigError as exc:
        raise ConfigError(exc.problem, source=source) from None


def loopback_endpoint(text: str, source: str) -> str:
    """Validate `HOST:PORT` (HOST on loopback: the channel is insecure and unauthenticated)."""
    match = re.fullmatch(r"\[?([^\[\]]+?)\]?:(\d{1,5})", text.strip())
    if match is None or not 0 < int(match.group(2)) < 65536:
        raise ConfigError(f"expected HOST:PORT, got {text!r}", source=source)
    host = match.group(1)
    try:
        loopback = host in _LOOPBACK_NAMES or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        problem = f"must be on loopback (127.0.0.1, ::1, localhost): the channel is insecure; got {host!r}"
        raise ConfigError(problem, source=source)
    return f"[{host}]:{match.group(2)}" if ":" in host else f"{host}:{match.group(2)}"
