"""The topology model: which services run, on which ports, linked through which proxies.

A topology file is YAML, loaded once into frozen dataclasses and validated
before anything is spawned, so a typo is one clear `TopologyError` naming the
file and the field instead of a half-started platform.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import SplitResult, urlsplit

from harness._config import Problems, load_yaml, short_repr
from harness._exceptions import TopologyError

__all__ = [
    "SERVICE_KINDS",
    "CanarySpec",
    "InstanceSpec",
    "LinkSpec",
    "RedisSpec",
    "ServiceSpec",
    "Topology",
    "default_topology_path",
    "load_topology",
    "parse_topology",
    "validate_defect",
]

#: The services `python -m xynergy SERVICE` knows (docs/architecture.md).
SERVICE_KINDS = frozenset(
    {"edge", "security-governance", "ai-routing-engine", "internal-ai-service", "system-runtime"}
)

Port = int | None  # None means "auto": a free loopback port chosen at start-up


@dataclass(frozen=True)
class CanarySpec:
    """An optional second revision of a service, reached through the same edge."""

    port: Port = None
    defect: str | None = None
    weight: int = 0


@dataclass(frozen=True)
class ServiceSpec:
    """One declared service: spawned from `xynergy` (`kind`) or external (`url`)."""

    name: str
    kind: str | None = None
    url: str | None = None
    port: Port = None
    region: str | None = None
    upstreams: tuple[str, ...] = ()
    redis: bool = False
    canary: CanarySpec | None = None
    args: tuple[str, ...] = ()

    @property
    def external(self) -> bool:
        """External services are already deployed: never spawned, no cold start."""
        return self.url is not None


@dataclass(frozen=True)
class InstanceSpec:
    """One process-to-be: a service's baseline or canary revision."""

    name: str
    service: ServiceSpec
    revision: str
    port: Port
    defect: str | None = None


@dataclass(frozen=True)
class LinkSpec:
    """A named Toxiproxy proxy; `target` is an instance name, or `redis`."""

    name: str
    source: str
    target: str
    listen_port: Port = None


@dataclass(frozen=True)
class RedisSpec:
    """`mode`: `auto` (spawn when installed), `spawn` (required), `off`, or `external` (`url`)."""

    mode: str = "auto"
    port: Port = None
    url: str | None = None


@dataclass(frozen=True)
class Topology:
    """A validated topology; `instances()` and `links()` derive the contract's names."""

    name: str
    source: str
    entry: str
    services: Mapping[str, ServiceSpec]
    redis: RedisSpec = field(default_factory=RedisSpec)
    toxiproxy_port: Port = None
    proxy_ports: Mapping[str, int] = field(default_factory=dict)

    def instances(self) -> list[InstanceSpec]:
        """Every instance, baseline before canary, in file order."""
        out: list[InstanceSpec] = []
        for svc in self.services.values():
            out.append(InstanceSpec(svc.name, svc, "baseline", svc.port))
            if svc.canary is not None:
                out.append(
                    InstanceSpec(f"{svc.name}@canary", svc, "canary", svc.canary.port, svc.canary.defect)
                )
        return out

    def instance(self, name: str) -> InstanceSpec:
        """The instance called `name` (KeyError names the known ones)."""
        for inst in self.instances():
            if inst.name == name:
                return inst
        raise KeyError(f"no instance {short_repr(name)}; known: {', '.join(i.name for i in self.instances())}")

    def links(self) -> list[LinkSpec]:
        """`client->ENTRY`, one link per upstream (plus `@canary`), one per Redis user."""
        links = [LinkSpec(f"client->{self.entry}", "client", self.entry)]
        for svc in self.services.values():
            for up in svc.upstreams:
                links.append(LinkSpec(f"{svc.name}->{up}", svc.name, up))
                if self.services[up].canary is not None:
                    links.append(LinkSpec(f"{svc.name}->{up}@canary", svc.name, f"{up}@canary"))
            if svc.redis and self.redis.mode != "off":
                links.append(LinkSpec(f"{svc.name}->redis", svc.name, "redis"))
        return [
            LinkSpec(link.name, link.source, link.target, self.proxy_ports.get(link.name)) for link in links
        ]

    def start_order(self) -> list[list[str]]:
        """Services grouped in waves: each wave only depends on earlier ones."""
        done: set[str] = set()
        waves: list[list[str]] = []
        pending = list(self.services)
        while pending:
            wave = [s for s in pending if all(u in done for u in self.services[s].upstreams)]
            if not wave:  # validation rejects cycles; this guards direct construction
                raise TopologyError(f"dependency cycle among {pending}", source=self.source, field="services")
            waves.append(wave)
            done.update(wave)
            pending = [s for s in pending if s not in done]
        return waves


def default_topology_path() -> Path:
    """The shipped topology of the reference platform."""
    return Path(str(resources.files("harness").joinpath("topologies/xynergy.yaml")))


def load_topology(path: str | Path | None = None) -> Topology:
    """Read and validate a topology file (the shipped default when `path` is None).

    Every problem of the file is reported at once (one line each, naming the
    field); YAML is read by `harness._config` (`mode: off` stays a string).
    """
    p = Path(path) if path is not None else default_topology_path()
    return parse_topology(load_yaml(p, error=TopologyError), source=str(p))


def parse_topology(data: Any, *, source: str = "<topology>") -> Topology:
    """Validate already-parsed YAML into a `Topology`; every error names its field.

    Independent parts (each service, `entry`, `redis`, `toxiproxy`, each proxy
    port) are checked even when an earlier one failed, and all problems are
    raised together as one `TopologyError`.
    """
    v = _Validator(source)
    problems = Problems(TopologyError)
    top = v.mapping(data, "(top level)")
    problems.attempt(v.only, top, "(top level)", {"kind", "name", "entry", "services", "redis", "toxiproxy", "proxies"})
    if top.get("kind", "Topology") != "Topology":
        problems.attempt(v.fail, "kind", f"must be Topology (or absent), got {short_repr(top['kind'])}")
    services_raw = problems.attempt(v.mapping, top.get("services"), "services")
    if services_raw == {}:  # (None: not a mapping, already reported)
        problems.attempt(v.fail, "services", "at least one service is required")
    services_raw = services_raw or {}
    parsed = {str(n): problems.attempt(_service, v, str(n), spec) for n, spec in services_raw.items()}
    services = {n: svc for n, svc in parsed.items() if svc is not None}
    for svc in services.values():
        problems.attempt(_check_upstreams, v, svc, parsed)
    entry = top.get("entry", "edge")
    if not isinstance(entry, str) or (parsed and entry not in parsed):  # no services: one problem, not two
        problems.attempt(v.fail, "entry", f"must name a declared service, got {short_repr(entry)}")
    tox = problems.attempt(v.mapping, top.get("toxiproxy", {}), "toxiproxy") or {}
    problems.attempt(v.only, tox, "toxiproxy", {"port"})
    redis = problems.attempt(_redis, v, top.get("redis", {}))
    toxiproxy_port = problems.attempt(v.port, tox.get("port", "auto"), "toxiproxy.port")
    proxies = problems.attempt(v.mapping, top.get("proxies", {}), "proxies") or {}
    problems.raise_if_any()  # the rest needs every service, so it runs on a valid file only
    assert redis is not None and isinstance(entry, str)
    topo = Topology(
        name=str(top.get("name", Path(source).stem)),
        source=source,
        entry=entry,
        services=services,
        redis=redis,
        toxiproxy_port=toxiproxy_port,
    )
    known = {link.name for link in topo.links()}
    ports: dict[str, int] = {}
    for name, port in proxies.items():
        if name not in known:
            problems.attempt(v.fail, f"proxies.{name}", f"no such link; links are: {', '.join(sorted(known))}")
        p = problems.attempt(v.port, port, f"proxies.{name}")
        if p is not None:
            ports[str(name)] = p
    topo = Topology(topo.name, source, entry, services, topo.redis, topo.toxiproxy_port, ports)
    try:
        topo.start_order()
    except TopologyError:
        problems.attempt(v.fail, "services", "upstreams form a cycle")
    _check_port_clashes(v, topo, problems)
    problems.raise_if_any()
    return topo


def _check_upstreams(v: _Validator, svc: ServiceSpec, declared: Mapping[str, object]) -> None:
    for up in svc.upstreams:
        if up not in declared:
            v.fail(f"services.{svc.name}.upstreams", f"unknown service {short_repr(up)}")
        if up == svc.name:
            v.fail(f"services.{svc.name}.upstreams", "a service cannot be its own upstream")
        accepted = _accepted_upstreams(svc.kind)
        if accepted is not None and up not in accepted:
            v.fail(
                f"services.{svc.name}.upstreams",
                f"{svc.kind} accepts no upstream named {short_repr(up)}; it accepts: {', '.join(accepted) or 'none'}",
            )


def validate_defect(spec: str, *, source: str, field_name: str) -> None:
    """Validate a defect profile with the platform's own parser (`xynergy.defects`)."""
    try:
        defects = importlib.import_module("xynergy.defects")
    except ImportError:  # the platform is not installed: nothing to check against
        return
    try:
        defects.parse_defects(spec)
    except ValueError as exc:  # parse_defects names the bad item
        raise TopologyError(f"invalid defect profile {short_repr(spec)}: {exc}", source=source, field=field_name) from None


def _accepted_upstreams(kind: str | None) -> tuple[str, ...] | None:
    """Upstream names `python -m xynergy KIND --upstream` takes (None: unknown or external)."""
    if kind is None:
        return None
    try:
        config = importlib.import_module("xynergy.config")
    except ImportError:
        return None
    return tuple(n for n in config.UPSTREAMS.get(kind, ()) if "@" not in n)


class _Validator:
    """Small helpers that raise `TopologyError` naming the file and field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, field_name: str, problem: str) -> NoReturn:
        raise TopologyError(problem, source=self.source, field=field_name)

    def mapping(self, value: Any, field_name: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(field_name, f"must be a mapping, got {type(value).__name__}")
        return dict(value)

    def only(self, value: Mapping[str, Any], field_name: str, allowed: set[str]) -> None:
        """Every unknown field at once (a typo must not hide the next one)."""
        unknown = sorted(set(map(str, value)) - allowed)
        errors = [
            TopologyError(f"unknown field; allowed: {', '.join(sorted(allowed))}", source=self.source,
                          field=f"{field_name}.{name}" if field_name != "(top level)" else name)
            for name in unknown
        ]
        if errors:
            raise TopologyError.combine(errors)

    def port(self, value: Any, field_name: str) -> Port:
        if value in (None, "auto"):
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
            self.fail(field_name, f"must be a port 1-65535 or 'auto', got {short_repr(value)}")
        return int(value)

    def string(self, value: Any, field_name: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            self.fail(field_name, f"must be a non-empty string, got {short_repr(value)}")
        return str(value)


def _service(v: _Validator, name: str, raw: Any) -> ServiceSpec:
    """One service; its independent fields are all checked (each problem reported)."""
    where = f"services.{name}"
    if "@" in name or "->" in name or not name:
        v.fail(where, "service names may not contain '@' or '->'")
    spec = v.mapping(raw, where)
    problems = Problems(TopologyError)
    problems.attempt(v.only, spec, where, {"service", "url", "port", "region", "upstreams", "redis", "canary", "args"})
    kind = problems.attempt(v.string, spec.get("service"), f"{where}.service")
    url = problems.attempt(v.string, spec.get("url"), f"{where}.url")
    if (spec.get("service") is None) == (spec.get("url") is None):
        problems.attempt(v.fail, where, "give exactly one of 'service' (spawned) or 'url' (external)")
    if kind is not None and kind not in SERVICE_KINDS:
        problems.attempt(v.fail, f"{where}.service", f"unknown service {short_repr(kind)}; known: {', '.join(sorted(SERVICE_KINDS))}")
    if url is not None:
        with problems.part():
            parts = _split_url(v, url, f"{where}.url")
            if parts.scheme not in ("http", "https") or not parts.hostname:
                v.fail(f"{where}.url", f"must be an http(s) URL, got {short_repr(url)}")
        for key in ("port", "canary", "args", "redis"):
            if key in spec:
                problems.attempt(v.fail, f"{where}.{key}", "not allowed for an external service")
    ups = spec.get("upstreams", [])
    if not isinstance(ups, list) or not all(isinstance(u, str) for u in ups):
        problems.attempt(v.fail, f"{where}.upstreams", "must be a list of service names")
        ups = []
    if len(set(ups)) != len(ups):
        problems.attempt(v.fail, f"{where}.upstreams", "lists a service twice")
    args = spec.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        problems.attempt(v.fail, f"{where}.args", "must be a list of strings")
    redis = spec.get("redis", False)
    if not isinstance(redis, bool):
        problems.attempt(v.fail, f"{where}.redis", f"must be true or false, got {short_repr(redis)}")
    canary = problems.attempt(_canary, v, where, spec["canary"]) if "canary" in spec else None
    port = problems.attempt(v.port, spec.get("port", "auto"), f"{where}.port")
    region = problems.attempt(v.string, spec.get("region"), f"{where}.region")
    problems.raise_if_any()
    return ServiceSpec(
        name=name, kind=kind, url=url, port=port, region=region, upstreams=tuple(ups), redis=bool(redis),
        canary=canary, args=tuple(args),
    )  # fmt: skip


def _canary(v: _Validator, where: str, raw: Any) -> CanarySpec:
    spec = v.mapping(raw if raw is not True else {}, f"{where}.canary")
    v.only(spec, f"{where}.canary", {"port", "defect", "weight"})
    weight = spec.get("weight", 0)
    if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= 100:
        v.fail(f"{where}.canary.weight", f"must be a percentage 0-100, got {short_repr(weight)}")
    defect = v.string(spec.get("defect"), f"{where}.canary.defect")
    if defect is not None:
        validate_defect(defect, source=v.source, field_name=f"{where}.canary.defect")
    return CanarySpec(port=v.port(spec.get("port", "auto"), f"{where}.canary.port"), defect=defect, weight=weight)


def _redis(v: _Validator, raw: Any) -> RedisSpec:
    if isinstance(raw, bool):
        raw = {"mode": "spawn" if raw else "off"}
    elif isinstance(raw, str):
        raw = {"mode": raw}
    spec = v.mapping(raw, "redis")
    v.only(spec, "redis", {"mode", "port", "url"})
    url = v.string(spec.get("url"), "redis.url")
    mode = spec.get("mode", "external" if url else "auto")
    if mode not in ("auto", "spawn", "off", "external"):
        v.fail("redis.mode", f"must be auto, spawn, off or external, got {short_repr(mode)}")
    if (mode == "external") != (url is not None):
        v.fail("redis.url", "required exactly when redis.mode is 'external'")
    if url is not None and _split_url(v, url, "redis.url").scheme not in ("redis", "rediss"):
        v.fail("redis.url", f"must be a redis:// URL, got {short_repr(url)}")
    return RedisSpec(mode=str(mode), port=v.port(spec.get("port", "auto"), "redis.port"), url=url)


def _split_url(v: _Validator, url: str, field_name: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        _ = (parts.hostname, parts.port)  # both parse lazily and raise ValueError
    except ValueError as exc:
        v.fail(field_name, f"not a valid URL ({exc}): {short_repr(url)}")
    return parts


def _check_port_clashes(v: _Validator, topo: Topology, problems: Problems) -> None:
    seen: dict[int, str] = {}
    fixed = [(i.port, f"services.{i.service.name}" + (".canary.port" if i.revision == "canary" else ".port"))
             for i in topo.instances()]
    fixed += [(topo.toxiproxy_port, "toxiproxy.port"), (topo.redis.port, "redis.port")]
    fixed += [(p, f"proxies.{n}") for n, p in topo.proxy_ports.items()]
    for port, where in fixed:
        if port is None:
            continue
        if port in seen:
            problems.attempt(v.fail, where, f"port {port} is also used by {seen[port]}")
            continue
        seen[port] = where
