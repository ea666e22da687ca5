"""The launch plan: which flags and environment each process gets, decided before any spawn."""

from __future__ import annotations

import pytest

from harness._exceptions import ConfigError, ProcessError
from harness.topology import load_topology, make_plan, parse_topology


def flags(argv: list[str], name: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv) if a == name]


@pytest.fixture
def plan(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("XYNERGY_ALLOW_DEFECTS", "1")  # inherited by accident: must not leak to a child
    monkeypatch.setenv("REDIS_URL", "redis://elsewhere:6379")  # would bypass the proxy
    return make_plan(load_topology(), api_key="k1", canary_defect="latency", redis_binary="/usr/bin/redis-server")


def test_baseline_and_canary_get_the_same_upstreams_through_the_shared_proxies(plan) -> None:
    base, canary = plan.instances["ai-routing-engine"], plan.instances["ai-routing-engine@canary"]
    ups = flags(base.argv, "--upstream")
    assert ups == flags(canary.argv, "--upstream")
    primary = plan.links["ai-routing-engine->internal-ai.primary"]
    assert f"internal-ai.primary={primary.url}" in ups
    assert primary.upstream == plan.instances["internal-ai.primary"].url.removeprefix("http://")
    assert flags(base.argv, "--revision") == ["baseline"] and flags(canary.argv, "--revision") == ["canary"]


def test_the_edge_reaches_each_revision_through_its_own_proxy(plan) -> None:
    edge = plan.instances["edge"]
    ups = dict(u.split("=", 1) for u in flags(edge.argv, "--upstream"))
    assert ups["ai-routing-engine"] == plan.links["edge->ai-routing-engine"].url
    assert ups["ai-routing-engine@canary"] == plan.links["edge->ai-routing-engine@canary"].url
    assert flags(edge.argv, "--canary-weight") == ["ai-routing-engine=0"]


def test_only_the_defective_canary_may_run_defects(plan) -> None:
    for name, inst in plan.instances.items():
        allowed = inst.env.get("XYNERGY_ALLOW_DEFECTS") == "1"
        assert allowed == (name == "ai-routing-engine@canary"), name
        assert ("--defect" in inst.argv) == allowed
        assert "REDIS_URL" not in inst.env
        assert inst.env["XYNERGY_API_KEYS"] == "k1"


def test_redis_is_reached_through_its_proxy(plan) -> None:
    link = plan.links["ai-routing-engine->redis"]
    assert plan.redis_mode == "spawned" and link.upstream == plan.redis.url.removeprefix("redis://")
    assert flags(plan.instances["ai-routing-engine"].argv, "--redis-url") == [f"redis://{link.listen}/0"]
    assert "--save" in plan.redis.argv and "--appendonly" in plan.redis.argv


def test_without_any_redis_server_the_plan_refuses_and_names_the_way_out() -> None:
    # no private in-process cache per revision behind the user's back: that
    # made a healthy canary's cold cache look like a cost regression
    with pytest.raises(ProcessError, match="redis.mode: off"):
        make_plan(load_topology(), api_key="k", redis_binary=None)


def test_redis_spawn_without_the_binary_is_a_clear_error() -> None:
    topo = parse_topology({"redis": "spawn", "entry": "ai-routing-engine",
                           "services": {"ai-routing-engine": {"service": "ai-routing-engine", "redis": True}}})
    with pytest.raises(ProcessError, match="redis.mode is 'spawn' but no redis-server"):
        make_plan(topo, api_key="k", redis_binary=None)


def test_an_external_redis_is_still_proxied() -> None:
    topo = parse_topology({"redis": {"url": "redis://127.0.0.1:6390"}, "services": {
        "edge": {"service": "edge", "upstreams": ["ai-routing-engine"]},
        "ai-routing-engine": {"service": "ai-routing-engine", "redis": True}}})
    plan = make_plan(topo, api_key="k", toxiproxy_url="http://127.0.0.1:8474")
    assert plan.redis_mode == "external" and plan.redis is None and plan.toxiproxy is None
    assert plan.links["ai-routing-engine->redis"].upstream == "127.0.0.1:6390"


def test_every_port_is_distinct(plan) -> None:
    ports = [i.port for i in plan.instances.values()] + [plan.toxiproxy.port, plan.redis.port]
    ports += [int(link.listen.rsplit(":", 1)[1]) for link in plan.links.values()]
    assert len(ports) == len(set(ports))


def test_services_start_in_dependency_waves(plan) -> None:
    assert plan.waves[-1] == ["edge"]
    assert set(plan.waves[-2]) == {"ai-routing-engine", "ai-routing-engine@canary"}


def test_a_canary_defect_needs_a_canary() -> None:
    topo = parse_topology({"services": {"edge": {"service": "edge"}}})
    with pytest.raises(ConfigError, match="--canary-defect: the topology declares no canary"):
        make_plan(topo, api_key="k", canary_defect="latency")
