"""Shared pieces of the paging and live-state tests: a route with a user group and an
on-call rotation, and Alertmanager deliveries posted to the running bot's webhook."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from tests.harness import BotHarness
from tests.incident_helpers import Clock
from tests.intake_helpers import captured, intake_section

CHANNEL = "C0DBA0001"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
# bob's turn on 26 November (shift 24 since the start; members alternate).
ROTATION = {
    "name": "databases",
    "channel": "C0ONCALL1",
    "members": ["UBOB0002", "UALICE01"],
    "timezone": "UTC",
    "handoffs": ["09:00"],
    "start": "2026-11-02",
}
ROUTING = {
    "routes": [
        {
            "name": "databases",
            "match": {"kind": "postgres"},
            "channel": CHANNEL,
            "mention": ["S0DBA0001"],
            "oncall": "databases",
            "escalate_after_minutes": 10,
        }
    ]
}


async def deliver(h: BotHarness, name: str) -> None:
    """A delivery captured from Alertmanager 0.25, posted as Alertmanager posts it."""
    headers, body = captured(name)
    async with httpx.AsyncClient() as http:
        answer = await http.post(h.url + "/hooks/alertmanager", json=body, headers=headers)
    assert answer.status_code == 200, answer.text


def paged_bot(db_url: str, clock: Clock) -> BotHarness:
    """The bot with Alertmanager's webhook open, the route above and its rotation."""
    return BotHarness(
        db_url,
        clock=clock,
        intake=intake_section(),
        routing=ROUTING,
        oncall={"rotations": [ROTATION]},
    )
