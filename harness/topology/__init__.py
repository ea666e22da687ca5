"""The platform as processes: topology model and loader, `Platform`, cold start, resources, state.

    from harness.topology import Platform, load_topology

    with Platform.up(load_topology(), canary_defect="latency") as platform:
        platform.set_canary_weight(10)
        ...

See docs/topology.md for the topology file and docs/architecture.md for the contract.
"""

from __future__ import annotations

import typing as _typing

from harness._lazy import lazy_exports as _lazy_exports

if _typing.TYPE_CHECKING:
    from harness.topology._coldstart import PROBES, ColdStart, ColdStartSummary, Probe, summarize
    from harness.topology._control import AttachedPlatform, ControlServer
    from harness.topology._launch import InstancePlan, LinkPlan, PlatformPlan, make_plan
    from harness.topology._model import (
        CanarySpec,
        InstanceSpec,
        LinkSpec,
        RedisSpec,
        ServiceSpec,
        Topology,
        default_topology_path,
        load_topology,
        parse_topology,
    )
    from harness.topology._platform import Platform
    from harness.topology._records import CanaryRoute, Event, Instance
    from harness.topology._resources import MEMORY_BUDGET_BYTES, MemoryGrowth, ResourceSampler, memory_growth
    from harness.topology._state import DEFAULT_STATE_FILE, read_state, remove_state, stop_recorded, write_state

__all__ = [
    "AttachedPlatform",
    "CanaryRoute",
    "CanarySpec",
    "ColdStart",
    "ColdStartSummary",
    "ControlServer",
    "DEFAULT_STATE_FILE",
    "Event",
    "Instance",
    "InstancePlan",
    "InstanceSpec",
    "LinkPlan",
    "LinkSpec",
    "MEMORY_BUDGET_BYTES",
    "MemoryGrowth",
    "PROBES",
    "Platform",
    "PlatformPlan",
    "Probe",
    "RedisSpec",
    "ResourceSampler",
    "ServiceSpec",
    "Topology",
    "default_topology_path",
    "load_topology",
    "make_plan",
    "memory_growth",
    "parse_topology",
    "read_state",
    "remove_state",
    "stop_recorded",
    "summarize",
    "write_state",
]


def _is_topology(doc: object) -> bool:
    """A topology file has `services:` and none of OpenSLO's or Chaos Toolkit's top-level keys."""
    return isinstance(doc, dict) and isinstance(doc.get("services"), dict) and not {"apiVersion", "method"} & set(doc)


def _register_validator() -> None:
    """Let `harness validate` check topology files (kind `Topology`)."""
    from harness.slo import register_file_validator
    from harness.topology._model import load_topology

    register_file_validator("Topology", load_topology, detect=_is_topology)


_register_validator()

__getattr__, __dir__ = _lazy_exports(__name__, {
    "PROBES": "harness.topology._coldstart",
    "ColdStart": "harness.topology._coldstart",
    "ColdStartSummary": "harness.topology._coldstart",
    "Probe": "harness.topology._coldstart",
    "summarize": "harness.topology._coldstart",
    "AttachedPlatform": "harness.topology._control",
    "ControlServer": "harness.topology._control",
    "InstancePlan": "harness.topology._launch",
    "LinkPlan": "harness.topology._launch",
    "PlatformPlan": "harness.topology._launch",
    "make_plan": "harness.topology._launch",
    "CanarySpec": "harness.topology._model",
    "InstanceSpec": "harness.topology._model",
    "LinkSpec": "harness.topology._model",
    "RedisSpec": "harness.topology._model",
    "ServiceSpec": "harness.topology._model",
    "Topology": "harness.topology._model",
    "default_topology_path": "harness.topology._model",
    "load_topology": "harness.topology._model",
    "parse_topology": "harness.topology._model",
    "Platform": "harness.topology._platform",
    "CanaryRoute": "harness.topology._records",
    "Event": "harness.topology._records",
    "Instance": "harness.topology._records",
    "MEMORY_BUDGET_BYTES": "harness.topology._resources",
    "MemoryGrowth": "harness.topology._resources",
    "ResourceSampler": "harness.topology._resources",
    "memory_growth": "harness.topology._resources",
    "DEFAULT_STATE_FILE": "harness.topology._state",
    "read_state": "harness.topology._state",
    "remove_state": "harness.topology._state",
    "stop_recorded": "harness.topology._state",
    "write_state": "harness.topology._state",
}, globals())
