"""Server-side filtering and cursor paging (docs/fleet-api.yaml, `GET /v1/services`): the
HTTP backend against the simulator's generated fleet returns every match exactly once at
any page size; touched services are judged by their state now; the router pages across
backends, filtering itself for a backend that only has `list_services`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import SimpleNamespace

import httpx
import pytest

from bot.fleet import FleetRouter
from bot.fleet.targets import matching
from integrations.fleet.errors import FleetProtocolError, FleetRequestRejected
from integrations.fleet.http import HttpFleet
from integrations.fleet.models import Service, ServiceList, ServiceSummary
from integrations.fleet.selector import Selector, parse_selector
from standins.fleet.simulator import FleetSimulation, create_app
from standins.fleet.simulator.catalog import GeneratedCatalog
from standins.loopback import LoopbackServer

SIZE = 3000
SELECTOR = "engine=postgres version<16.10 region~us-*"


@dataclass
class Served:
    sim: FleetSimulation
    client: HttpFleet
    url: str


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    sim = FleetSimulation.generated(seed=11, size=SIZE)
    server = LoopbackServer(create_app(sim))
    await server.start()
    try:
        async with HttpFleet(server.url) as client:
            yield Served(sim, client, server.url)
    finally:
        await server.stop()


def _everything(sim: FleetSimulation) -> list[ServiceSummary]:
    """Every service as the simulator holds it now, unfiltered."""
    found: list[ServiceSummary] = []
    cursor = None
    while True:
        page = sim.page(cursor, 1000)
        found += page.items
        if not page.next_cursor:
            return found
        cursor = page.next_cursor


async def _page_through(
    fleet: HttpFleet | FleetRouter, selector: Selector, limit: int
) -> list[str]:
    names: list[str] = []
    cursor: str | None = None
    while True:
        page = await fleet.find_services(selector, cursor=cursor, limit=limit)
        assert len(page.items) <= limit
        names += [s.name for s in page.items]
        if not page.next_cursor:
            return names
        cursor = page.next_cursor


@pytest.mark.parametrize("limit", [1, 7, 1000])
async def test_paging_returns_every_match_exactly_once(served: Served, limit: int) -> None:
    sim, client = served.sim, served.client
    selector = parse_selector(SELECTOR)
    everything = _everything(sim)
    assert len(everything) == SIZE
    expected = [s.name for s in everything if selector.matches(s)]
    assert 50 < len(expected) < SIZE // 4
    if limit == 1:
        selector = parse_selector("engine=kafka region=eu-west-1 health!=healthy")
        expected = [s.name for s in everything if selector.matches(s)]
        assert expected
    found = await _page_through(client, selector, limit)
    assert found == expected  # the same services, once each, in the listing's order


async def test_a_touched_service_is_judged_by_its_state_now(
    served: Served,
) -> None:
    sim, client = served.sim, served.client
    healthy = parse_selector("engine=postgres health=healthy")
    before = await _page_through(client, healthy, 1000)
    victim = before[len(before) // 2]
    sim.degrade(victim)  # its replica fails: degraded from now on
    assert isinstance(sim.catalog, GeneratedCatalog)
    assert list(sim.catalog.overrides) == [sim.catalog.index_of(victim)]
    after = await _page_through(client, healthy, 1000)
    assert after == [n for n in before if n != victim]
    degraded = await _page_through(client, parse_selector(f"name~{victim}"), 1000)
    assert degraded == [victim]
    assert (await client.get_service(victim)).health == "degraded"


async def test_a_bad_term_or_cursor_is_refused_by_the_api(
    served: Served,
) -> None:
    client = served.client
    with pytest.raises(FleetRequestRejected) as bad_cursor:
        await client.find_services(parse_selector("engine=redis"), cursor="not-ours")
    assert bad_cursor.value.code == "invalid_cursor"
    async with httpx.AsyncClient() as raw:
        answer = await raw.get(served.url + "/v1/services", params={"match": "colour=blue"})
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_match"
    assert "colour=blue" in answer.json()["message"]


class ListOnly:
    """A backend with only the original port (a unit seam: it holds a few services)."""

    def __init__(self, services: list[ServiceSummary]) -> None:
        self.services = services

    async def get_service(self, name: str) -> Service:
        raise NotImplementedError

    async def list_services(self) -> list[ServiceSummary]:
        return list(self.services)

    async def aclose(self) -> None:
        return None


async def test_the_router_pages_across_backends_and_filters_a_list_only_one(
    served: Served,
) -> None:
    sim, client = served.sim, served.client
    extra = [
        ServiceSummary(name=f"pg-legacy-{i}", kind="postgres", region="us-east-1",
                       health="healthy", version=v)
        for i, v in enumerate(["15.8", "16.10", "9.6", "17.2"])
    ]  # fmt: skip
    legacy = ListOnly(extra)
    router = FleetRouter([("legacy", ["pg-legacy-*"], legacy), ("sim", ["*"], client)])
    selector = parse_selector(SELECTOR)
    expected = ["pg-legacy-0", "pg-legacy-2"] + [
        s.name for s in _everything(sim) if selector.matches(s)
    ]
    for limit in (1, 5, 1000):
        assert await _page_through(router, selector, limit) == expected


class Looping:
    """A control plane whose cursor goes round (a unit seam: hostile answers)."""

    def __init__(self) -> None:
        self.asked: list[str | None] = []

    async def find_services(
        self, selector: Selector, *, cursor: str | None = None, limit: int = 1000
    ) -> ServiceList:
        self.asked.append(cursor)
        item = ServiceSummary(name="pg-a", kind="postgres", region="r", health="healthy")
        return ServiceList(items=[item], next_cursor="b" if cursor == "a" else "a")

    async def get_service(self, name: str) -> Service:
        raise NotImplementedError

    async def list_services(self) -> list[ServiceSummary]:
        return []

    async def aclose(self) -> None:
        return None


async def test_a_listing_that_goes_round_is_stopped_and_counts_each_service_once() -> None:
    looping = Looping()
    rt = SimpleNamespace(fleet=FleetRouter([("loop", ["*"], looping)]))
    seen: list[str] = []
    with pytest.raises(FleetProtocolError, match="loop"):
        async for batch in matching(rt, parse_selector("engine=postgres")):  # type: ignore[arg-type]
            seen += [s.name for s in batch]
    assert seen == ["pg-a"]
    assert len(looping.asked) <= 4  # stopped at the first repeated cursor
