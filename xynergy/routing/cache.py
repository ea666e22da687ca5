"""The AI response cache: Redis when configured, else an in-process LRU with TTL.

Keys are tenant + tier + normalized prompt, hashed, so equal questions from one
tenant share an answer and tenants never see each other's. Redis is an
optimisation, never a dependency: every call has a short timeout (0.5 s), and
after a failure Redis is skipped for a cool-down (doubling, capped) and then
probed by one request at a time, so a dead or black-holed link costs one
timeout now and then, not one per request. Requests carry on as misses.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections import OrderedDict
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

__all__ = ["ResponseCache", "LocalCache", "RedisCache", "cache_key", "normalize_prompt"]

log = logging.getLogger("xynergy.cache")
_SPACE = re.compile(r"\s+")


def normalize_prompt(prompt: str) -> str:
    """Case-folded, whitespace-collapsed, trimmed."""
    return _SPACE.sub(" ", prompt).strip().casefold()


def cache_key(tenant: str, prompt: str, tier: str) -> str:
    """The cache key for one question of one tenant at one tier."""
    digest = hashlib.sha256("\x00".join((tenant, tier, normalize_prompt(prompt))).encode()).hexdigest()
    return f"xynergy:route:{digest}"


class ResponseCache(Protocol):
    """What ai-routing-engine needs from a cache."""

    kind: str

    async def get(self, key: str) -> dict[str, Any] | None: ...
    async def set(self, key: str, value: dict[str, Any]) -> None: ...
    async def status(self) -> str: ...
    async def close(self) -> None: ...


class LocalCache:
    """In-process LRU with a TTL: the embedded default when no Redis is configured."""

    kind = "local"

    def __init__(self, max_entries: int = 10_000, ttl_s: float = 300.0) -> None:
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self._entries: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: str) -> dict[str, Any] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if time.monotonic() >= expires:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: dict[str, Any]) -> None:
        self._entries[key] = (time.monotonic() + self.ttl_s, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def status(self) -> str:
        return "ok"

    async def close(self) -> None:
        self._entries.clear()


class RedisCache:
    """Redis-backed cache that degrades to 'always miss' while Redis is unreachable.

    After a failure Redis is skipped for a cool-down; when it ends, a single
    request probes Redis (others keep skipping) until one call succeeds, so a
    black-holed link costs one timeout per cool-down, not one per request.
    """

    kind = "redis"

    def __init__(self, url: str, ttl_s: float = 300.0, timeout_s: float = 0.5,
                 cooldown_s: float = 1.0, max_cooldown_s: float = 8.0) -> None:
        self.ttl_s = ttl_s
        self.cooldown_s = cooldown_s
        self.max_cooldown_s = max_cooldown_s
        self._next_cooldown = cooldown_s
        self._skip_until = 0.0
        self._suspect = False
        self._probing = False
        self.errors = 0
        self.client = Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0), retry_on_timeout=False, max_connections=64,
        )

    @property
    def degraded(self) -> bool:
        return self._suspect

    def _may_try(self) -> bool:
        if not self._suspect:
            return True
        if time.monotonic() < self._skip_until or self._probing:
            return False
        self._probing = True
        return True

    def _failed(self, op: str, exc: Exception) -> None:
        self.errors += 1
        self._probing = False
        self._suspect = True
        self._skip_until = time.monotonic() + self._next_cooldown
        log.warning("redis unavailable; cache bypassed",
                    extra={"op": op, "error": repr(exc), "cooldown_s": self._next_cooldown})
        self._next_cooldown = min(self.max_cooldown_s, self._next_cooldown * 2)

    def _ok(self) -> None:
        if self._suspect:
            log.info("redis reachable again; cache back in use")
        self._suspect = self._probing = False
        self._next_cooldown = self.cooldown_s

    async def get(self, key: str) -> dict[str, Any] | None:
        if not self._may_try():
            return None
        try:
            raw = await self.client.get(key)
        except (RedisError, OSError) as exc:
            self._failed("get", exc)
            return None
        except BaseException:
            self._probing = False
            raise
        self._ok()
        return None if raw is None else dict(json.loads(raw))

    async def set(self, key: str, value: dict[str, Any]) -> None:
        if not self._may_try():
            return
        try:
            await self.client.set(key, json.dumps(value), ex=max(1, int(self.ttl_s)))
        except (RedisError, OSError) as exc:
            self._failed("set", exc)
            return
        except BaseException:
            self._probing = False
            raise
        self._ok()

    async def status(self) -> str:
        try:
            await self.client.ping()
        except (RedisError, OSError):
            return "down"
        return "ok"

    async def close(self) -> None:
        await self.client.aclose()
