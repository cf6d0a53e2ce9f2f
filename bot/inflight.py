"""Work a Slack request started that outlives its HTTP answer.

Bolt acks, answers Slack, and runs the rest of the listener in a task of its own, which
uvicorn's graceful shutdown does not know about. Listeners hold their task here, so an
orderly stop waits for it (within a bound) before the fleet client and the database close.

It is also the bound on that work: a command that would go past `limit` is turned away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Any

log = logging.getLogger(__name__)


class InFlight:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._turning_away = False

    def __len__(self) -> int:
        return len(self._tasks)

    def has_room(self, limit: int) -> bool:
        """Whether new work may start; says once in the log when turning work away starts
        and once when it stops, not once a request."""
        full = len(self._tasks) >= limit
        if full != self._turning_away:
            self._turning_away = full
            if full:
                log.warning("%d Slack requests still at work: turning new commands away", limit)
            else:
                log.warning("room again for new commands")
        return not full

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Count the current task as in flight until the block ends."""
        task = asyncio.current_task()
        if task is None:
            yield
            return
        self._tasks.add(task)
        try:
            yield
        finally:
            self._tasks.discard(task)

    async def drain(self, seconds: float) -> int:
        """Wait up to `seconds` for the work held now; returns how much is still running."""
        running = set(self._tasks)
        if not running:
            return 0
        _, still = await asyncio.wait(running, timeout=max(seconds, 0.0))
        return len(still)
