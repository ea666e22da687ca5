"""Defect injection and the memory budget: each defect does what it says, probes stay honest."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.xynergy.platform_testing import AUTH, config, running
from xynergy import create_app, parse_defects
from xynergy.common.faults import MemoryGrower


@pytest.mark.anyio
async def test_errors_defect_fails_v1_requests_but_never_the_probes() -> None:
    app = create_app(config("security-governance", defects=parse_defects("errors=1.0")))
    async with running(app) as client:
        api = [(await client.get("/v1/policies/acme", headers=AUTH)).status_code for _ in range(5)]
        probes = [(await client.get(p)).status_code for p in ("/healthz", "/readyz", "/metrics")]
    assert api == [500] * 5 and probes == [200, 200, 200]


@pytest.mark.anyio
async def test_latency_defect_delays_about_its_fraction_of_requests() -> None:
    app = create_app(config("security-governance", defects=parse_defects("latency=100ms@0.5")))
    async with running(app) as client:
        slow = 0
        for _ in range(40):
            start = time.perf_counter()
            await client.get("/v1/policies/acme", headers=AUTH)
            slow += time.perf_counter() - start >= 0.09
    assert 8 <= slow <= 32  # 50 % of 40, wide bounds


@pytest.mark.anyio
async def test_memory_growth_retains_memory_steadily_and_stops_at_its_cap() -> None:
    grower = MemoryGrower(bytes_per_s=4 * 1024**2, cap_bytes=3 * 1024**2, tick_s=0.01)
    await asyncio.wait_for(grower.run(), timeout=5)
    assert 2 * 1024**2 < grower.total <= 3 * 1024**2
    assert len(grower.retained) > 50


@pytest.mark.anyio
async def test_a_service_over_its_memory_budget_reports_not_ready() -> None:
    app = create_app(config("security-governance", memory_budget_bytes=1024**2))
    async with running(app) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503 and "memory" in ready.json()
