"""ai-routing-engine: tiers, cache hits, de-duplication, breaker failover and recovery."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.xynergy.platform_testing import AUTH, SwitchableTransport, config, running, sample
from xynergy import create_app


def engine(**overrides):
    """A routing engine wired in-process to real primary and backup internal-ai apps."""
    latency = overrides.pop("tier_latency_ms", {"small": 1.0, "medium": 2.0, "large": 3.0})
    primary = create_app(config("internal-ai-service", region="region-a", tier_latency_ms=latency))
    backup = create_app(config("internal-ai-service", region="region-b", tier_latency_ms=latency))
    links = {"internal-ai.primary": SwitchableTransport(primary), "internal-ai.backup": SwitchableTransport(backup)}
    app = create_app(config(
        "ai-routing-engine",
        upstreams={"internal-ai.primary": "http://primary", "internal-ai.backup": "http://backup"},
        transports=links, **overrides,
    ))
    return app, primary, backup, links


def inferences(app) -> float:
    return sum(sample(app, "xynergy_inferences_total", {"tier": t, "region": r, "revision": "baseline"})
               for t in ("small", "medium", "large") for r in ("region-a", "region-b"))


@pytest.mark.anyio
async def test_complex_prompts_get_a_bigger_tier_than_simple_ones() -> None:
    app, *_ = engine()
    async with running(app) as client:
        small = await client.post("/v1/route", json={"tenant": "acme", "prompt": "hi"}, headers=AUTH)
        large = await client.post("/v1/route", headers=AUTH, json={
            "tenant": "acme", "max_tokens": 4000,
            "prompt": "Analyze and compare these two algorithm designs, explain and prove " + "word " * 150})
    assert small.headers["x-xynergy-tier"] == "small"
    assert large.headers["x-xynergy-tier"] == "large"
    assert small.headers["x-xynergy-region"] == "region-a"


@pytest.mark.anyio
async def test_a_repeated_prompt_is_a_cache_hit_in_the_embedded_cache() -> None:
    app, primary, backup, _ = engine()
    async with running(app) as client:
        first = await client.post("/v1/route", json={"tenant": "acme", "prompt": "What is  Xynergy?"}, headers=AUTH)
        again = await client.post("/v1/route", json={"tenant": "acme", "prompt": "what is xynergy?"}, headers=AUTH)
        other = await client.post("/v1/route", json={"tenant": "globex", "prompt": "what is xynergy?"}, headers=AUTH)
    assert [first.headers["x-xynergy-cache"], again.headers["x-xynergy-cache"],
            other.headers["x-xynergy-cache"]] == ["miss", "hit", "miss"]
    assert again.json()["output"] == first.json()["output"]
    assert inferences(primary) == 2
    assert sample(app, "xynergy_cache_lookups_total", {"result": "hit", "revision": "baseline"}) == 1


@pytest.mark.anyio
async def test_concurrent_identical_requests_make_one_upstream_call() -> None:
    app, primary, _, _ = engine(tier_latency_ms={"small": 200.0, "medium": 200.0, "large": 200.0})
    async with running(app) as client:
        body = {"tenant": "acme", "prompt": "the same question"}
        responses = await asyncio.gather(*(client.post("/v1/route", json=body, headers=AUTH) for _ in range(20)))
    assert [r.status_code for r in responses] == [200] * 20
    kinds = sorted(r.headers["x-xynergy-cache"] for r in responses)
    assert kinds == ["dedup"] * 19 + ["miss"]
    assert inferences(primary) == 1
    assert sample(app, "xynergy_dedup_joins_total", {"revision": "baseline"}) == 19


@pytest.mark.anyio
async def test_breaker_opens_traffic_fails_over_and_half_open_probe_returns_it() -> None:
    app, primary, backup, links = engine(breaker_min_calls=3, breaker_base_backoff_s=0.2)
    n = 0

    async def route(client) -> str:
        nonlocal n
        n += 1
        r = await client.post("/v1/route", json={"tenant": "acme", "prompt": f"question {n}"}, headers=AUTH)
        assert r.status_code == 200
        return r.headers["x-xynergy-region"]

    async with running(app) as client:
        assert await route(client) == "region-a"
        links["internal-ai.primary"].down = True
        before = links["internal-ai.primary"].attempts
        regions = [await route(client) for _ in range(10)]
        assert regions == ["region-b"] * 10
        # 1 success then 2 failures: 2 of 3 calls in the window failed, so the breaker skips it
        assert links["internal-ai.primary"].attempts - before == 2
        status = (await client.get("/v1/route/status", headers=AUTH)).json()
        assert status["breakers"]["primary"]["state"] == "open"
        assert sample(app, "xynergy_breaker_state", {"region": "primary", "revision": "baseline"}) == 1
        assert sample(app, "xynergy_failovers_total", {"revision": "baseline"}) == 10

        links["internal-ai.primary"].down = False
        await asyncio.sleep(0.3)  # > base backoff 0.2 s + 20 % jitter
        assert await route(client) == "region-a"  # the half-open probe
        assert [await route(client) for _ in range(3)] == ["region-a"] * 3
        status = (await client.get("/v1/route/status", headers=AUTH)).json()
        assert status["breakers"]["primary"]["state"] == "closed"


@pytest.mark.anyio
async def test_when_every_region_is_down_the_answer_is_an_honest_5xx_fast() -> None:
    app, _, _, links = engine(breaker_min_calls=2)
    links["internal-ai.primary"].down = links["internal-ai.backup"].down = True
    async with running(app) as client:
        codes = [(await client.post("/v1/route", json={"tenant": "t", "prompt": f"q{i}"}, headers=AUTH)).status_code
                 for i in range(4)]
    assert codes[:2] == [502, 502]
    assert codes[2:] == [503, 503]  # both breakers open: refused without waiting


@pytest.mark.redis
@pytest.mark.anyio
async def test_cache_hits_skip_the_model_when_the_cache_is_a_real_redis(redis_server) -> None:
    url, proc = redis_server
    app, primary, _, _ = engine(redis_url=url)
    async with running(app) as client:
        body = {"tenant": "acme", "prompt": "cache me in redis"}
        first = await client.post("/v1/route", json=body, headers=AUTH)
        again = await client.post("/v1/route", json=body, headers=AUTH)
        assert (first.headers["x-xynergy-cache"], again.headers["x-xynergy-cache"]) == ("miss", "hit")
        assert inferences(primary) == 1
        # Redis dies mid-run: requests still succeed, as misses, without stalling
        proc.kill()
        proc.wait()
        start = time.monotonic()
        later = [await client.post("/v1/route", json=body, headers=AUTH) for _ in range(5)]
        elapsed = time.monotonic() - start
    assert [r.status_code for r in later] == [200] * 5
    assert {r.headers["x-xynergy-cache"] for r in later} == {"miss"}
    assert elapsed < 2.0
