"""Work a Slack request started that outlives its HTTP answer.

Bolt acks, answers Slack, and runs the rest of the listener in a task of its own, which
uvicorn's graceful shutdown does not know about. Listeners hold their task here, so an
orderly stop waits for it (within a bound) before the fleet client and the database close.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any


class InFlight:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

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
