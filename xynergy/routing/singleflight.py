"""De-duplication of identical in-flight requests: one upstream call serves them all."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["SingleFlight", "FlightAbandoned"]

T = TypeVar("T")


class FlightAbandoned(Exception):
    """The leader was cancelled (e.g. timed out); joiners should make their own call."""


class SingleFlight(Generic[T]):
    """Runs one call per key at a time; later callers with the same key join it."""

    def __init__(self) -> None:
        self._flights: dict[str, asyncio.Future[T]] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._flights

    def __len__(self) -> int:
        return len(self._flights)

    async def join(self, key: str) -> T | None:
        """Await the call in flight for ``key``; None when there is none.

        Raises the leader's exception, or ``FlightAbandoned`` if it was cancelled.
        """
        future = self._flights.get(key)
        if future is None:
            return None
        return await asyncio.shield(future)

    async def lead(self, key: str, call: Callable[[], Awaitable[T]]) -> T:
        """Run ``call`` as the leader for ``key``; joiners get its result or its exception."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._flights[key] = future
        try:
            result = await call()
        except BaseException as exc:
            # never cancel the shared future: that would cancel the joiners' own tasks
            future.set_exception(FlightAbandoned() if isinstance(exc, asyncio.CancelledError) else exc)
            future.exception()  # mark retrieved: there may be no joiners
            raise
        else:
            future.set_result(result)
            return result
        finally:
            del self._flights[key]
