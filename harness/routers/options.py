"""The `--router …` flags of `harness rollout`, validated, and the router they ask for.

```python
add_router_arguments(parser)                       # in harness/commands/rollout.py
options = router_options_from_args(args)           # ConfigError naming the flag on bad input
router = make_router(options, service="ai-routing-engine")  # None: the platform's own edge router
```

Only the chosen router's module is imported (the Cloud Run one pulls in gRPC).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Literal

from harness._exceptions import ConfigError
from harness.routers._base import TrafficRouter

__all__ = ["RouterKind", "RouterOptions", "add_router_arguments", "make_router", "router_options_from_args"]

RouterKind = Literal["edge", "cloudrun", "command"]
_KINDS: tuple[RouterKind, ...] = ("edge", "cloudrun", "command")


@dataclass(frozen=True)
class RouterOptions:
    """Which router shifts the canary's traffic, and its settings."""

    kind: RouterKind = "edge"
    """edge: the embedded platform's edge (`/admin/traffic`); cloudrun; command."""
    cloudrun_service: str | None = None
    """`projects/P/locations/L/services/S` (cloudrun)."""
    cloudrun_endpoint: str | None = None
    """`HOST:PORT` of an emulator or test server instead of run.googleapis.com (cloudrun)."""
    baseline_revision: str | None = None
    """Name of the baseline revision (cloudrun, command `{baseline}`)."""
    canary_revision: str | None = None
    """Name of the canary revision (cloudrun, command `{canary}`)."""
    command: str | None = None
    """Template per weight (command)."""
    current_command: str | None = None
    """Command printing the canary's current percent (command; optional)."""
    service: str | None = None
    """`{service}` in the command template (command; default: the topology's canary service)."""


def add_router_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the router flags to `harness rollout` (as their own argument group)."""
    group = parser.add_argument_group("traffic router (who shifts the canary's share)")
    group.add_argument("--router", choices=_KINDS, default="edge",
                       help="edge: the embedded platform's edge (default); cloudrun: a Cloud Run service's "
                            "revision split; command: a command template per weight")
    group.add_argument("--cloudrun-service", metavar="projects/P/locations/L/services/S", default=None,
                       help="the Cloud Run service to split (--router cloudrun)")
    group.add_argument("--cloudrun-endpoint", metavar="HOST:PORT", default=None,
                       help="an emulator or test server instead of run.googleapis.com (insecure, no credentials)")
    group.add_argument("--baseline-revision", metavar="NAME", default=None,
                       help="baseline revision (cloudrun default: the one with the largest share now)")
    group.add_argument("--canary-revision", metavar="NAME", default=None,
                       help="canary revision (cloudrun default: the latest ready revision)")
    group.add_argument("--router-command", metavar="TEMPLATE", default=None,
                       help="command per weight, e.g. 'kubectl argo rollouts set weight {service} {percent}' "
                            "(placeholders {service} {baseline} {canary} {percent} {baseline_percent})")
    group.add_argument("--router-current-command", metavar="TEMPLATE", default=None,
                       help="command printing the canary's current percent (what restore puts back; default 0)")
    group.add_argument("--router-service", metavar="NAME", default=None,
                       help="{service} in --router-command (default: the topology's canary service)")


def router_options_from_args(args: argparse.Namespace) -> RouterOptions:
    """Validate the combination of router flags; `ConfigError` naming the flag."""
    options = RouterOptions(
        kind=args.router, cloudrun_service=args.cloudrun_service, cloudrun_endpoint=args.cloudrun_endpoint,
        baseline_revision=args.baseline_revision, canary_revision=args.canary_revision,
        command=args.router_command, current_command=args.router_current_command, service=args.router_service,
    )
    owned = {
        "cloudrun": {"--cloudrun-service": options.cloudrun_service, "--cloudrun-endpoint": options.cloudrun_endpoint},
        "command": {"--router-command": options.command, "--router-current-command": options.current_command,
                    "--router-service": options.service},
    }
    for kind, flags in owned.items():
        for flag, value in flags.items():
            if value is not None and options.kind != kind:
                raise ConfigError(f"only with --router {kind} (this run uses --router {options.kind})", field=flag)
    if options.kind == "cloudrun" and not options.cloudrun_service:
        raise ConfigError("required with --router cloudrun", field="--cloudrun-service")
    if options.kind == "command" and not options.command:
        raise ConfigError("required with --router command", field="--router-command")
    if options.kind == "edge" and (options.baseline_revision or options.canary_revision):
        raise ConfigError("the embedded edge routes to its own baseline/canary instances",
                          field="--baseline-revision/--canary-revision")
    return options


def make_router(options: RouterOptions, *, service: str) -> TrafficRouter | None:
    """The router `options` ask for; None for `edge` (the platform supplies its own).

    `service` is the topology's canary service (the command router's default `{service}`).
    Raises `RouterError`/`ConfigError` in one line; makes no change to any traffic.
    """
    if options.kind == "cloudrun":
        from harness.routers.cloudrun import CloudRunRouter

        assert options.cloudrun_service is not None
        return CloudRunRouter(options.cloudrun_service, canary=options.canary_revision,
                              baseline=options.baseline_revision, endpoint=options.cloudrun_endpoint)
    if options.kind == "command":
        from harness.routers.command import CommandRouter

        assert options.command is not None
        return CommandRouter(options.command, current_template=options.current_command,
                             service=options.service or service, baseline=options.baseline_revision or "baseline",
                             canary=options.canary_revision or "canary")
    return None
