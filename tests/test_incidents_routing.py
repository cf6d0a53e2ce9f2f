"""Routing and grouping: label matchers pick a channel and who is mentioned, minimum
severities let quieter pages fall through, and the default channel takes the rest."""

from __future__ import annotations

from typing import Any

from bot.config import Config, parse_config
from bot.incidents.grouping import epoch_of, group_key
from bot.incidents.ingest import ingest
from bot.incidents.routing import mention_text, route_page
from tests.conftest import base_config
from tests.harness import BotHarness
from tests.incident_helpers import EPOCH, batch, incidents, page, roots

ROUTING: dict[str, Any] = {
    "routes": [
        {
            "name": "payments",
            "match": {"service": "pg-billing*"},
            "channel": "C0PAY0001",
            "mention": ["S0PAY0001", "UALICE01"],
            "min_severity": "high",
        },
        {
            "name": "europe",
            "match_re": {"region": "eu-(west|central)-1"},
            "channel": "C0EU00001",
        },
    ],
    "default_channel": "C0ALL0001",
    "min_severity": "warning",
}


def config(**sections: Any) -> Config:
    return parse_config(base_config(**sections), {})


def test_the_first_matching_route_wins_and_minimums_fall_through() -> None:
    cfg = config(routing=ROUTING)
    billing = route_page(cfg, page("a", service="pg-billing-2", severity="critical"))
    assert billing is not None and (billing.route, billing.channel) == ("payments", "C0PAY0001")
    # Too quiet for payments: the next route that matches takes it.
    quiet = route_page(cfg, page("b", service="pg-billing-2", severity="warning"))
    assert quiet is not None and quiet.route == "europe"
    elsewhere = route_page(cfg, page("c", service="redis-x", region="us-east-1"))
    assert elsewhere is not None and (elsewhere.route, elsewhere.channel) == (
        "default",
        "C0ALL0001",
    )
    # Below the default route's minimum: stored, no incident.
    assert route_page(cfg, page("d", region="us-east-1", severity="info")) is None


def test_mentions_are_users_and_user_groups() -> None:
    assert mention_text(("S0PAY0001", "UALICE01")) == "<!subteam^S0PAY0001> <@UALICE01>"


def test_group_keys_and_epochs_are_configurable_and_stable() -> None:
    first = page("a", instance="pg-orders-2")
    assert group_key(first, ["alertname", "service"]) == (
        "alertname=PostgresReplicationLag,service=pg-orders"
    )
    assert group_key(first, ["region"]) == "region=eu-west-1"
    assert group_key(first, ["team"]) == "team="
    assert epoch_of(first) == EPOCH.isoformat(timespec="microseconds")


async def test_incidents_land_in_their_routes_channels_mentioning_the_route(db_url: str) -> None:
    async with BotHarness(db_url, routing=ROUTING) as h:
        rt = h.bot.runtime
        await ingest(rt, batch(page("pay", service="pg-billing-1", severity="critical")))
        await ingest(rt, batch(page("eu", service="pg-orders", severity="warning")))
        await ingest(rt, batch(page("us", service="redis-x", region="us-east-1")))
        await ingest(
            rt, batch(page("info", service="redis-y", region="us-east-1", severity="info"))
        )
        assert [(i.channel, i.route) for i in await incidents(rt)] == [
            ("C0PAY0001", "payments"),
            ("C0EU00001", "europe"),
            ("C0ALL0001", "default"),
        ]
        root = (await h.wait_for(lambda: roots(h.state, "C0PAY0001")))[0]
        assert root.text.startswith("<!subteam^S0PAY0001> <@UALICE01> [CRITICAL]")
        await h.wait_for(lambda: roots(h.state, "C0EU00001") and roots(h.state, "C0ALL0001"))


async def test_grouping_by_other_keys_folds_more_alerts_into_one_incident(db_url: str) -> None:
    async with BotHarness(db_url, grouping={"keys": ["service"]}) as h:
        rt = h.bot.runtime
        await ingest(rt, batch(page("a"), page("b", alertname="PostgresDown")))
        [incident] = await incidents(rt)
        assert incident.page_count == 2 and incident.group_key == "service=pg-orders"
