"""De-duplication: one call per key in flight; failures and cancellations reach the joiners sanely."""

from __future__ import annotations

import asyncio

import pytest

from xynergy.routing import FlightAbandoned, SingleFlight


@pytest.mark.anyio
async def test_joiners_share_the_leaders_result_and_the_key_is_freed_after() -> None:
    flights: SingleFlight[int] = SingleFlight()
    calls = 0

    async def call() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return 42

    leader = asyncio.create_task(flights.lead("k", call))
    await asyncio.sleep(0)
    joined = await asyncio.gather(*(flights.join("k") for _ in range(5)))
    assert await leader == 42 and joined == [42] * 5 and calls == 1
    assert "k" not in flights and await flights.join("k") is None


@pytest.mark.anyio
async def test_a_cancelled_leader_leaves_joiners_free_to_call_themselves() -> None:
    flights: SingleFlight[int] = SingleFlight()
    leader = asyncio.create_task(flights.lead("k", lambda: asyncio.sleep(10, result=1)))
    await asyncio.sleep(0)
    joiner = asyncio.create_task(flights.join("k"))
    await asyncio.sleep(0)
    leader.cancel()
    with pytest.raises(FlightAbandoned):
        await joiner
    assert not joiner.cancelled()


@pytest.mark.anyio
async def test_a_failing_leader_passes_its_error_to_the_joiners() -> None:
    flights: SingleFlight[int] = SingleFlight()

    async def boom() -> int:
        await asyncio.sleep(0.01)
        raise RuntimeError("upstream down")

    leader = asyncio.create_task(flights.lead("k", boom))
    await asyncio.sleep(0)
    joiner = asyncio.create_task(flights.join("k"))
    for task in (leader, joiner):
        with pytest.raises(RuntimeError, match="upstream down"):
            await task
