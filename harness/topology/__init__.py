"""The platform as processes: topology model and loader, `Platform`, cold start, resources, state.

    from harness.topology import Platform, load_topology

    with Platform.up(load_topology(), canary_defect="latency") as platform:
        platform.set_canary_weight(10)
        ...

See docs/topology.md for the topology file and docs/architecture.md for the contract.
"""

from __future__ import annotations

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

    register_file_validator("Topology", load_topology, detect=_is_topology)


_register_validator()
