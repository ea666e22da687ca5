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
