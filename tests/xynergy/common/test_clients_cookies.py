from __future__ import annotations

import httpx
import pytest

from xynergy.common.clients import UPSTREAM_LIMITS, pooled_client


@pytest.mark.anyio
async def test_a_shared_upstream_client_never_replays_one_callers_cookie_to_the_next():
    seen_cookies: list[str | None] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        seen_cookies.append(request.headers.get("cookie"))
        return httpx.Response(200, headers={"set-cookie": "session=tenant-a-secret; Path=/"})

    client = pooled_client(
        "http://upstream.test",
        timeout=httpx.Timeout(1.0),
        limits=UPSTREAM_LIMITS,
        transport=httpx.MockTransport(upstream),
    )
    async with client:
        first = await client.get("/v1/policies/a")
        second = await client.get("/v1/policies/b")

    assert first.headers["set-cookie"].startswith("session=")  # still visible to pass through
    assert seen_cookies == [None, None]
    assert not list(client.cookies.jar)
