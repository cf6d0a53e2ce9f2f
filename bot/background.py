"""Work the bot starts and does not wait for: fleet reads after an ingest, PagerDuty
deliveries, automation. One `Background` per runtime (never a module global), so an
orderly stop, and a test, can wait for exactly this bot's work with `drain()`.

A failure is logged and dropped: every such piece of work has a periodic sweep that finds
what is still due, so a lost task delays, never loses.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Background:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._coalesced: dict[str, _Coalesced] = {}

    def spawn(self, work: Coroutine[Any, Any, object], what: str) -> None:
        async def guarded() -> None:
            try:
                await work
            except Exception:  # background work logs; the sweep retries what is still due
                log.exception("%s failed", what)

        task = asyncio.get_running_loop().create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def coalesce(self, what: str, run: Callable[[], Awaitable[object]], pause: float) -> None:
        """Run `run` now unless it is running; then once more after it ends (after `pause`
        seconds): a burst of requests becomes a few runs, and none is missed."""
        self._coalesced.setdefault(what, _Coalesced(self, what)).request(run, pause)

    async def drain(self) -> None:
        """Wait for the work started so far, and for what it starts in turn."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


class _Coalesced:
    """At most one run under way and one more asked for behind it."""

    def __init__(self, background: Background, what: str) -> None:
        self._background = background
        self._what = what
        self._running = False
        self._again = False

    def request(self, run: Callable[[], Awaitable[object]], pause: float) -> None:
        if self._running:
            self._again = True
            return
        self._running = True
        self._background.spawn(self._loop(run, pause), self._what)

    async def _loop(self, run: Callable[[], Awaitable[object]], pause: float) -> None:
        try:
            while True:
                self._again = False
                await run()
                if not self._again:
                    return
                await asyncio.sleep(pause)
        finally:
            self._running = False
