"""Silences through Alertmanager's API v2, here a fake one on `httpx.MockTransport` (the
intake tests drive the real Alertmanager): from the button and from `/incident silence`,
listed in the thread, lifted, and announced when they expire."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import pytest

from bot.audit import vocabulary as v
from bot.incidents.escalation import escalate_due
from bot.incidents.ingest import ingest
from bot.incidents.silences import expire_due
from bot.transports import OutsideTransports
from tests.harness import BotHarness, find_button
from tests.incident_helpers import (
    Clock,
    audit_rows,
    batch,
    block_text,
    incidents,
    page,
    recorded,
    replies,
    roots,
)

SILENCES = {"alertmanager_url": "http://alertmanager.test:9093", "bearer_token": "am-api-token"}


@dataclass
class FakeAlertmanager:
    created: list[dict[str, Any]] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    headers: list[httpx.Headers] = field(default_factory=list)
    fail: bool = False

    @property
    def transports(self) -> OutsideTransports:
        """Alertmanager's API answered by this fake, for the bot under test."""
        return OutsideTransports(alertmanager=httpx.MockTransport(self))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.headers.append(request.headers)
        if self.fail:
            return httpx.Response(500, text="cluster not ready")
        if request.method == "POST" and request.url.path == "/api/v2/silences":
            self.created.append(json.loads(request.content))
            return httpx.Response(200, json={"silenceID": f"sil-{len(self.created)}"})
        if request.method == "DELETE" and request.url.path.startswith("/api/v2/silence/"):
            self.expired.append(request.url.path.rsplit("/", 1)[1])
            return httpx.Response(200)
        return httpx.Response(404, json={"message": "not found"})


@pytest.fixture
def alertmanager() -> Iterator[FakeAlertmanager]:
    fake = FakeAlertmanager()
    yield fake


async def test_the_silence_button_silences_the_group_at_alertmanager(
    db_url: str, alertmanager: FakeAlertmanager
) -> None:
    clock = Clock()
    async with BotHarness(
        db_url, clock=clock, transports=alertmanager.transports, silences=SILENCES
    ) as h:
        rt = h.bot.runtime
        await ingest(rt, batch(page("fp-1")))
        ts = await recorded(rt, "incident:1")
        root = roots(h.state)[0]
        await h.click("bob", find_button(root.blocks, "Silence 1h"), message_ts=ts)
        assert "silenced until" in (await h.wait_for_response("bob")).text
        [created] = alertmanager.created
        assert created["matchers"] == [
            {
                "name": "alertname",
                "value": "PostgresReplicationLag",
                "isRegex": False,
                "isEqual": True,
            },
            {"name": "service", "value": "pg-orders", "isRegex": False, "isEqual": True},
        ]
        assert created["createdBy"] == "UBOB0002"
        span = datetime.fromisoformat(created["endsAt"]) - datetime.fromisoformat(
            created["startsAt"]
        )
        assert span.total_seconds() == 3600
        assert alertmanager.headers[0]["authorization"] == "Bearer am-api-token"
        await h.wait_for(lambda: any("sil-1" in r.text for r in replies(h.state, root)))
        await h.wait_for(lambda: "Silenced until" in block_text(root.blocks))
        # A new alert of the silenced group: counted on the root, no reply in the thread.
        before = len(replies(h.state, root))
        await ingest(rt, batch(page("fp-2")))
        await h.wait_for(lambda: "2 (2 firing)" in block_text(root.blocks))
        assert len(replies(h.state, root)) == before
        # Escalation waits for the silence to end.
        clock.advance(minutes=30)
        assert await escalate_due(rt) == 0
        [audited] = await audit_rows(rt, v.SILENCE_CREATED)
        assert (audited.actor, audited.ref) == ("UBOB0002", "incident:1")


async def test_a_silence_is_listed_lifted_and_announced_when_it_expires(
    db_url: str, alertmanager: FakeAlertmanager
) -> None:
    clock = Clock()
    async with BotHarness(
        db_url, clock=clock, transports=alertmanager.transports, silences=SILENCES
    ) as h:
        rt = h.bot.runtime
        await ingest(rt, batch(page("fp-1")))
        ts = await recorded(rt, "incident:1")
        root = roots(h.state)[0]
        await h.command("alice", "/incident silence 2h")
        await h.wait_for_response("alice")
        await h.command("alice", "/incident silence")
        listed = await h.wait_for_response("alice", 2)
        assert "sil-1" in listed.text and 'alertname="PostgresReplicationLag"' in listed.text
        await h.command("alice", "/incident silence off")
        assert "lifted" in (await h.wait_for_response("alice", 3)).text
        assert alertmanager.expired == ["sil-1"]
        await h.wait_for(
            lambda: any("lifted the silence" in r.text for r in replies(h.state, root))
        )
        # A second one runs out on its own: the sweep announces it.
        await h.mention("bob", "silence 30m", thread_ts=ts)
        await h.wait_for(lambda: h.state.ephemerals("UBOB0002"))
        assert len(alertmanager.created) == 2
        clock.advance(minutes=31)
        assert await expire_due(rt) == 1
        await h.wait_for(lambda: any("has expired" in r.text for r in replies(h.state, root)))
        assert (await incidents(rt))[0].silenced_until is None
        outcomes = [row.outcome for row in await audit_rows(rt, v.SILENCE_EXPIRED)]
        assert outcomes == ["lifted", "expired"]


async def test_alertmanager_refusing_leaves_nothing_silenced(
    db_url: str, alertmanager: FakeAlertmanager
) -> None:
    async with BotHarness(db_url, transports=alertmanager.transports, silences=SILENCES) as h:
        alertmanager.fail = True
        await ingest(h.bot.runtime, batch(page("fp-1")))
        await h.command("alice", "/incident silence 1h")
        assert "did not take the silence" in (await h.wait_for_response("alice")).text
        assert (await incidents(h.bot.runtime))[0].silenced_until is None
        assert await audit_rows(h.bot.runtime, v.SILENCE_CREATED) == []


async def test_without_alertmanager_the_bot_keeps_the_silence_itself(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        await ingest(h.bot.runtime, batch(page("fp-1")))
        await h.command("alice", "/incident silence 4h")
        assert "silenced until" in (await h.wait_for_response("alice")).text
        assert (await incidents(h.bot.runtime))[0].silenced_until is not None
