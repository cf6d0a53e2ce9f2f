"""The last look at the bot's health, reused for a moment.

`/readyz` is unauthenticated and each look reads the database (schema, outbox, leases):
a burst of probes, hostile or not, must not become a burst of queries. Concurrent askers
wait for the one look under way instead of starting their own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from bot.monitoring.health import Health

Look = Callable[[], Awaitable[Health]]


class RecentHealth:
    def __init__(
        self, look: Look, *, seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._look = look
        self._seconds = seconds
        self._clock = clock
        self._lock = asyncio.Lock()
        self._last: tuple[float, Health] | None = None

    async def get(self) -> Health:
        async with self._lock:
            if self._last is not None and self._clock() - self._last[0] < self._seconds:
                return self._last[1]
            health = await self._look()
            self._last = (self._clock(), health)
            return health
