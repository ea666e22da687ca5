"""The response cache: keys, the in-process LRU+TTL, and Redis degrading gracefully."""

from __future__ import annotations

import time

import pytest

from xynergy.routing import LocalCache, RedisCache, cache_key


def test_cache_key_normalizes_prompt_and_separates_tenants_and_tiers() -> None:
    assert cache_key("acme", "  Hello   WORLD ", "small") == cache_key("acme", "hello world", "small")
    assert cache_key("acme", "hello", "small") != cache_key("globex", "hello", "small")
    assert cache_key("acme", "hello", "small") != cache_key("acme", "hello", "large")


@pytest.mark.anyio
async def test_local_cache_evicts_least_recently_used_and_expires_entries() -> None:
    cache = LocalCache(max_entries=2, ttl_s=0.2)
    await cache.set("a", {"v": 1})
    await cache.set("b", {"v": 2})
    assert await cache.get("a") == {"v": 1}
    await cache.set("c", {"v": 3})
    assert await cache.get("b") is None and len(cache) == 2
    time.sleep(0.25)
    assert await cache.get("a") is None


@pytest.mark.redis
@pytest.mark.anyio
async def test_redis_cache_round_trips_and_turns_into_fast_misses_when_redis_dies(redis_server) -> None:
    url, proc = redis_server
    cache = RedisCache(url, ttl_s=60)
    try:
        await cache.set("k", {"answer": 42})
        assert await cache.get("k") == {"answer": 42}
        proc.kill()
        proc.wait()
        start = time.monotonic()
        assert await cache.get("k") is None
        assert await cache.get("k") is None  # inside the cool-down: Redis is not even tried
        await cache.set("k2", {"answer": 1})
        assert time.monotonic() - start < 1.0
        assert cache.errors == 1 and cache.degraded
        assert await cache.status() == "down"
    finally:
        await cache.close()


@pytest.mark.anyio
async def test_a_black_holed_redis_costs_one_timeout_per_cool_down_not_one_per_request() -> None:
    import asyncio
    import socket

    # a listening socket that never answers: connections succeed, replies never come
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(64)
    cache = RedisCache(f"redis://127.0.0.1:{hole.getsockname()[1]}/0", timeout_s=0.3, cooldown_s=0.5)
    try:
        start = time.monotonic()
        await cache.get("first")  # pays the timeout once
        first = time.monotonic() - start
        start = time.monotonic()
        results = await asyncio.gather(*(cache.get(f"k{i}") for i in range(20)))
        during = time.monotonic() - start
        await asyncio.sleep(0.6)  # cool-down over: exactly one probe goes, the others skip
        start = time.monotonic()
        await asyncio.gather(*(cache.get(f"p{i}") for i in range(20)))
        probe_round = time.monotonic() - start
    finally:
        await cache.close()
        hole.close()
    assert first >= 0.25
    assert results == [None] * 20 and during < 0.2
    assert cache.errors == 2  # the first call and the single probe
    assert probe_round < 1.0
