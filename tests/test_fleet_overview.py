"""The fleet overview over several backends (bot/fleet/router.py), at the backend seam:
every backend is read at once within its deadline; one that hangs, fails or has a bug is
unknown and hides no other; a service claimed by an earlier backend is not shown twice.
The real-backend version (a real Patroni cluster beside an unreachable one, through
Slack) is in tests/test_actions_patroni_ops.py."""

from __future__ import annotations

import asyncio

from bot.block_kit import fleet_overview, overview_text
from bot.fleet.router import FleetRouter
from integrations.fleet.errors import FleetUnavailable, ServiceNotFound
from integrations.fleet.models import Health, Service, ServiceSummary


class Listing:
    """A backend that answers its list after `delay` seconds, or fails with `error`."""

    def __init__(
        self, names: dict[str, Health], *, delay: float = 0.0, error: Exception | None = None
    ) -> None:
        self.names, self.delay, self.error = names, delay, error

    async def list_services(self) -> list[ServiceSummary]:
        await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return [
            ServiceSummary(name=n, kind="postgres", region="eu", health=h)
            for n, h in self.names.items()
        ]

    async def get_service(self, name: str) -> Service:
        raise ServiceNotFound(name)

    async def aclose(self) -> None:
        pass


async def test_a_hanging_a_failing_and_a_buggy_backend_are_unknown_and_hide_nothing() -> None:
    router = FleetRouter(
        [
            ("dc1", ["pg-*"], Listing({"pg-a": "healthy", "pg-b": "degraded"})),
            ("slow", ["*"], Listing({"pg-slow": "healthy"}, delay=30)),
            ("down", ["*"], Listing({}, error=FleetUnavailable("connection refused"))),
            ("buggy", ["*"], Listing({}, error=KeyError("members"))),
            # Claims pg-a too, but dc1 comes first in app.yaml: shown once, under dc1.
            ("catch-all", ["*"], Listing({"pg-a": "down", "kafka-x": "healthy"})),
        ],
        kinds={"dc1": "patroni", "slow": "http"},
        deadline=0.2,
    )
    views = await router.overview()
    by_name = {v.name: v for v in views}
    assert [s.name for s in by_name["dc1"].services or []] == ["pg-a", "pg-b"]
    assert by_name["slow"].services is None and by_name["slow"].problem == (
        "no answer within 0.2 s"
    )
    assert by_name["down"].services is None and "connection refused" in str(by_name["down"].problem)
    assert by_name["buggy"].problem == "unexpected error (KeyError)"
    assert [s.name for s in by_name["catch-all"].services or []] == ["kafka-x"]

    text = repr(fleet_overview(views))
    assert overview_text(views) == "Fleet: 3 services from 5 backends, 3 unknown"
    assert "*slow* · `http` · :white_circle: *unknown*: no answer within 0.2 s" in text
    assert ":large_green_circle: `pg-a` (postgres, eu)" in text
    assert ":red_circle: `pg-a`" not in text  # the catch-all's view of pg-a is not shown
    # Unknown services are never counted healthy: only the 2 known healthy ones are.
    assert ":large_green_circle: 2 healthy" in text


async def test_a_big_backend_lists_what_is_not_healthy_and_counts_the_rest() -> None:
    names: dict[str, Health] = {f"pg-{i:03}": "healthy" for i in range(100)}
    names["pg-050"] = "down"
    router = FleetRouter([("big", ["*"], Listing(names))])
    blocks = fleet_overview(await router.overview())
    text = repr(blocks)
    assert ":red_circle: `pg-050`" in text and "`pg-001`" not in text
    assert "… 99 more not listed" in text
    assert len(blocks) <= 50
