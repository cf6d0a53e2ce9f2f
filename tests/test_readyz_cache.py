"""`/readyz` is unauthenticated and reads the database: a burst of probes shares one look,
and the next look happens once the second is over."""

from __future__ import annotations

import asyncio
from datetime import datetime

import httpx

from bot.monitoring.health import Health, assess
from bot.monitoring.routes import monitoring_routes
from bot.parts import AppParts
from bot.runtime import Runtime
from tests.harness import BotHarness


class Probe:
    """Counts the database checks; its clock is the one the cache reads."""

    def __init__(self) -> None:
        self.looks = 0
        self.now = 1000.0

    async def look(self, rt: Runtime, since: datetime) -> Health:
        self.looks += 1
        await asyncio.sleep(0.05)  # a look takes a while: the burst piles up behind it
        return await assess(rt, since)

    def install(self, parts: AppParts) -> None:
        at = parts.routes.index(monitoring_routes)
        parts.routes[at] = lambda rt: monitoring_routes(rt, look=self.look, clock=lambda: self.now)


async def test_a_burst_of_readiness_probes_costs_one_database_check(db_url: str) -> None:
    probe = Probe()
    async with (
        BotHarness(db_url, customize=probe.install) as h,
        httpx.AsyncClient(base_url=h.url, limits=httpx.Limits(max_connections=50)) as client,
    ):
        answers = await asyncio.gather(*(client.get("/readyz") for _ in range(50)))
        assert {a.status_code for a in answers} == {200}
        assert probe.looks == 1

        probe.now += 0.99
        assert (await client.get("/readyz")).status_code == 200
        assert probe.looks == 1
        probe.now += 0.01  # a second after the look: the next probe looks again
        assert (await client.get("/readyz")).status_code == 200
        assert probe.looks == 2
