"""Escalation on an injected clock: nobody acknowledged within the route's minutes, so the
on-call is mentioned again and, where the route says so, PagerDuty is paged (Events API v2,
served here by `httpx.MockTransport`), and told when the incident is resolved."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bot.audit import vocabulary as v
from bot.incidents.escalation import escalate_due
from bot.incidents.ingest import ingest
from bot.transports import OutsideTransports
from tests.harness import BotHarness
from tests.incident_helpers import (
    Clock,
    audit_rows,
    batch,
    incidents,
    page,
    recorded,
    replies,
    roots,
)

ROUTES = {
    "routes": [
        {
            "name": "databases",
            "match": {"service": "pg-*"},
            "channel": "C0DBA0001",
            "mention": ["S0DBA0001", "UALICE01"],
            "escalate_after_minutes": 10,
            "pagerduty": True,
        }
    ]
}
ESCALATION = {
    "after_minutes": 15,
    "pagerduty": {"routing_key": "R0UTING0KEY0000000000000000000000"},
}


class PagerDutyEvents(list[dict[str, Any]]):
    """The events PagerDuty received, and the transport that receives them."""

    transports = OutsideTransports()


@pytest.fixture
def pagerduty() -> Iterator[PagerDutyEvents]:
    events = PagerDutyEvents()

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        events.append(body)
        return httpx.Response(202, json={"status": "success", "dedup_key": body["dedup_key"]})

    events.transports = OutsideTransports(pagerduty=httpx.MockTransport(answer))
    yield events


async def test_unacknowledged_after_the_route_minutes_mentions_again_and_pages(
    db_url: str, pagerduty: PagerDutyEvents
) -> None:
    clock = Clock()
    async with BotHarness(
        db_url, clock=clock, transports=pagerduty.transports, routing=ROUTES, escalation=ESCALATION
    ) as h:
        rt = h.bot.runtime
        await ingest(rt, batch(page("fp-1")))
        await ingest(rt, batch(page("redis-1", alertname="RedisDown", service="redis-carts")))
        ts = await recorded(rt, "incident:1")
        clock.advance(minutes=9)
        assert await escalate_due(rt) == 0
        clock.advance(minutes=2)
        assert await escalate_due(rt) == 1  # the databases route: 10 minutes
        root = next(m for m in roots(h.state, "C0DBA0001") if m.ts == ts)
        reply = await h.wait_for(
            lambda: next((r for r in replies(h.state, root) if "unacknowledged" in r.text), None)
        )
        assert "<!subteam^S0DBA0001> <@UALICE01>" in reply.text and "after 11 min" in reply.text
        assert [(e["event_action"], e["dedup_key"]) for e in pagerduty] == [
            ("trigger", "incident:1")
        ]
        assert pagerduty[0]["routing_key"] == ESCALATION["pagerduty"]["routing_key"]
        assert pagerduty[0]["payload"]["severity"] == "critical"
        await h.wait_for(lambda: any("PagerDuty" in r.text for r in replies(h.state, root)))
        clock.advance(minutes=5)
        assert await escalate_due(rt) == 1  # the default route: 15 minutes, no PagerDuty
        assert len(pagerduty) == 1
        clock.advance(minutes=60)
        assert await escalate_due(rt) == 0  # repeat_minutes 0: once each
        assert [i.escalations for i in await incidents(rt)] == [1, 1]
        assert len(await audit_rows(rt, v.INCIDENT_ESCALATED)) == 2
        # alice resolves it from its channel: PagerDuty hears the same dedup key resolved.
        await h.command("alice", "/incident resolve #1", channel="C0DBA0001")
        await h.wait_for_response("alice")
        await rt.background.drain()
        assert [(e["event_action"], e["dedup_key"]) for e in pagerduty][-1] == (
            "resolve",
            "incident:1",
        )
        assert (await incidents(rt))[0].pagerduty_state == "resolved"


async def test_an_acknowledged_incident_is_not_escalated(db_url: str) -> None:
    clock = Clock()
    async with BotHarness(db_url, clock=clock, escalation={"after_minutes": 5}) as h:
        rt = h.bot.runtime
        await ingest(rt, batch(page("fp-1")))
        await h.command("bob", "/incident ack")
        assert "acknowledged" in (await h.wait_for_response("bob")).text
        clock.advance(minutes=30)
        assert await escalate_due(rt) == 0
