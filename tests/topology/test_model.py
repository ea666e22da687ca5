"""The topology file: the shipped default, the contract's names, and one clear error per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness._exceptions import TopologyError
from harness.topology import load_topology, parse_topology

def minimal(**services: dict) -> dict:
    return {"services": services or {"edge": {"service": "edge"}}}


def test_the_default_topology_has_exactly_the_contracts_instances_and_links(contract_instances, contract_links) -> None:
    topo = load_topology()
    assert {i.name for i in topo.instances()} == contract_instances
    assert {link.name for link in topo.links()} == contract_links


def test_services_start_after_everything_they_call() -> None:
    waves = load_topology().start_order()
    position = {name: n for n, wave in enumerate(waves) for name in wave}
    assert position["internal-ai.primary"] < position["ai-routing-engine"] < position["edge"]
    assert position["security-governance"] < position["edge"]


def test_baseline_and_canary_share_their_outgoing_links() -> None:
    topo = load_topology()
    outgoing = [link for link in topo.links() if link.source.startswith("ai-routing-engine")]
    assert {link.source for link in outgoing} == {"ai-routing-engine"}
    assert all("@canary" not in link.source for link in topo.links())


def test_an_external_service_is_not_spawned_but_still_linked_through_a_proxy() -> None:
    topo = parse_topology(minimal(edge={"url": "http://127.0.0.1:9999"}))
    (edge,) = topo.instances()
    assert edge.service.external
    assert [link.name for link in topo.links()] == ["client->edge"]


def test_a_missing_file_is_named_in_the_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(TopologyError, match=r"nope\.yaml: cannot read"):
        load_topology(missing)


def test_broken_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("services:\n  edge: {service: edge\n")
    with pytest.raises(TopologyError, match=r"bad\.yaml: line \d+: not valid YAML"):
        load_topology(bad)


@pytest.mark.parametrize(
    ("data", "field", "problem"),
    [
        ({"services": {}}, "services", "at least one"),
        (minimal(edge={"service": "edgy"}), "services.edge.service", "unknown service 'edgy'"),
        (minimal(edge={"service": "edge", "port": 70000}), "services.edge.port", "must be a port"),
        (minimal(edge={"service": "edge", "colour": "red"}), "services.edge.colour", "unknown field"),
        (minimal(edge={"service": "edge", "upstreams": ["ghost"]}), "services.edge.upstreams", "unknown service"),
        (minimal(edge={"service": "edge", "url": "http://x"}), "services.edge", "exactly one of"),
        (minimal(edge={"url": "ftp://x"}), "services.edge.url", "http"),
        (minimal(edge={"service": "edge", "canary": {"weight": 101}}), "services.edge.canary.weight", "0-100"),
        ({**minimal(), "entry": "nowhere"}, "entry", "must name a declared service"),
        ({**minimal(), "redis": {"mode": "sometimes"}}, "redis.mode", "auto, spawn, off or external"),
        ({**minimal(), "proxies": {"client->nowhere": 1234}}, "proxies.client->nowhere", "no such link"),
        (
            {**minimal(a={"service": "edge", "port": 8123}, b={"service": "system-runtime", "port": 8123}), "entry": "a"},
            "services.b.port",
            "also used by services.a.port",
        ),
    ],
)
def test_each_invalid_field_is_named_with_its_problem(data: dict, field: str, problem: str) -> None:
    with pytest.raises(TopologyError) as info:
        parse_topology(data, source="t.yaml")
    assert info.value.field == field
    assert problem in info.value.problem
    assert str(info.value).startswith(f"t.yaml: {field}: ")


def test_harness_validate_checks_topology_files(tmp_path: Path) -> None:
    from harness.commands.validate import validate_files

    assert validate_files([Path(load_topology().source)]) == [f"ok: {load_topology().source} (Topology)"]
    bad = tmp_path / "t.yaml"
    bad.write_text("kind: Topology\nservices:\n  edge: {service: edge, port: 0}\n")
    with pytest.raises(TopologyError, match="services.edge.port"):
        validate_files([bad])


def test_an_upstream_the_service_cannot_take_is_rejected() -> None:
    pytest.importorskip("xynergy.config")
    data = minimal(
        sr={"service": "system-runtime"},
        edge={"service": "internal-ai-service", "upstreams": ["sr"]},
    )
    with pytest.raises(TopologyError, match="accepts no upstream named 'sr'"):
        parse_topology(data, source="t.yaml")


def test_a_dependency_cycle_is_rejected() -> None:
    pytest.importorskip("xynergy.config")
    data = {
        "services": {
            "internal-ai.primary": {"service": "ai-routing-engine", "upstreams": ["internal-ai.backup"]},
            "internal-ai.backup": {"service": "ai-routing-engine", "upstreams": ["internal-ai.primary"]},
        },
        "entry": "internal-ai.primary",
    }
    with pytest.raises(TopologyError, match="cycle"):
        parse_topology(data, source="t.yaml")


def test_a_canary_defect_is_checked_with_the_platforms_own_parser() -> None:
    pytest.importorskip("xynergy.defects")
    data = minimal(edge={"service": "edge", "canary": {"defect": "latency=fast"}})
    with pytest.raises(TopologyError) as info:
        parse_topology(data, source="t.yaml")
    assert info.value.field == "services.edge.canary.defect"
    assert "latency=fast" in info.value.problem


def test_a_valid_canary_defect_is_kept_on_the_canary_instance_only() -> None:
    pytest.importorskip("xynergy.defects")
    raw = yaml.safe_load(Path(load_topology().source).read_text())
    raw["services"]["ai-routing-engine"]["canary"]["defect"] = "errors=0.2"
    topo = parse_topology(raw)
    assert topo.instance("ai-routing-engine@canary").defect == "errors=0.2"
    assert topo.instance("ai-routing-engine").defect is None
