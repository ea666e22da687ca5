"""Container limits: request 51 in flight gets 503 + Retry-After; slow requests time out."""

from __future__ import annotations

import asyncio

import pytest

from tests.xynergy.platform_testing import AUTH, config, running, sample
from xynergy import create_app, parse_defects


@pytest.mark.anyio
async def test_request_51_in_flight_gets_503_with_retry_after() -> None:
    # every /v1/ request is held 1 s by the latency defect, so 50 stay in flight
    app = create_app(config("security-governance", defects=parse_defects("latency=2s")))
    async with running(app) as client:
        held = [asyncio.create_task(client.get("/v1/policies/acme", headers=AUTH)) for _ in range(50)]
        labels = {"service": "security-governance", "revision": "baseline"}
        for _ in range(100):  # wait until all 50 are inside the service
            if sample(app, "xynergy_http_in_flight", labels) == 50:
                break
            await asyncio.sleep(0.01)
        extra = await client.get("/v1/policies/acme", headers=AUTH)
        probe = await client.get("/healthz")
        in_flight = sample(app, "xynergy_http_in_flight", labels)
        results = await asyncio.gather(*held)
    assert extra.status_code == 503
    assert extra.headers["retry-after"] == "1"
    assert probe.status_code == 200 and in_flight == 50
    assert [r.status_code for r in results] == [200] * 50


@pytest.mark.anyio
async def test_a_request_past_the_timeout_gets_504() -> None:
    app = create_app(config("security-governance", defects=parse_defects("latency=2s"), request_timeout_s=0.2))
    async with running(app) as client:
        response = await client.get("/v1/policies/acme", headers=AUTH)
    assert response.status_code == 504
