"""Pages in, incident threads out: dedupe, grouping, replies, resolution, reopening.

Pages are fed to `ingest` directly (the seam intake calls); the threads are read at the
Slack stand-in, as a person in the channel would see them.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.audit import vocabulary as v
from bot.composition import open_bot
from bot.incidents.ingest import ingest
from bot.incidents.models import PageRecord
from tests.harness import BotHarness
from tests.incident_helpers import (
    Clock,
    audit_rows,
    batch,
    block_text,
    buttons,
    incidents,
    page,
    page_count,
    replies,
    resolved,
    roots,
    settle,
)


async def test_the_same_batch_twice_stores_nothing_new_and_posts_one_thread(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        rt = h.bot.runtime
        delivery = batch(page("fp-1"), page("fp-2"))
        assert await ingest(rt, delivery) == 2
        assert await ingest(rt, delivery) == 0
        await settle(rt)
        root = (await h.wait_for(lambda: roots(h.state)))[0]
        await h.quiet()
        assert len(roots(h.state)) == 1
        assert replies(h.state, root) == []
        assert await page_count(rt) == 2
        [incident] = await incidents(rt)
        assert (incident.page_count, incident.firing_count) == (2, 2)
        assert len(await audit_rows(rt, v.INCIDENT_OPENED)) == 1


async def test_one_thread_per_group_and_more_alerts_become_replies(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        rt = h.bot.runtime
        await ingest(rt, batch(page("lag-1"), page("down-1", alertname="PostgresDown")))
        shown = await h.wait_for(lambda: len(roots(h.state)) == 2 and roots(h.state))
        lag = next(m for m in shown if "PostgresReplicationLag" in m.text)
        # Alertmanager sends the group again with one more alert: a reply, not a thread.
        await ingest(rt, batch(page("lag-1"), page("lag-2", instance="pg-orders-3")))
        reply = (await h.wait_for(lambda: replies(h.state, lag)))[0]
        assert "pg-orders-3" in reply.text and "1 alert update" in reply.text
        await h.quiet()
        assert len(roots(h.state)) == 2
        lag_incident = next(i for i in await incidents(rt) if i.title == "PostgresReplicationLag")
        assert lag_incident.page_count == 2
        edited = await h.wait_for(lambda: "2 (2 firing)" in block_text(lag.blocks) and lag)
        assert "Acknowledge" in buttons(edited.blocks)


async def test_every_alert_resolved_resolves_the_incident_and_the_root_shows_it(
    db_url: str,
) -> None:
    async with BotHarness(db_url) as h:
        rt = h.bot.runtime
        first, second = page("fp-1"), page("fp-2")
        await ingest(rt, batch(first, second))
        root = (await h.wait_for(lambda: roots(h.state)))[0]
        await ingest(rt, batch(resolved(first)))
        [incident] = await incidents(rt)
        assert (incident.status, incident.firing_count) == ("triggered", 1)
        await ingest(rt, batch(resolved(first), resolved(second)))
        [incident] = await incidents(rt)
        assert incident.status == "resolved"
        assert incident.resolved_by == "alertmanager" and incident.resolved_at is not None
        await settle(rt)
        await h.wait_for(lambda: "Resolved by `alertmanager`" in block_text(root.blocks))
        assert "[CRITICAL] PostgresReplicationLag — pg-orders · resolved" in root.text
        assert buttons(root.blocks) == []
        await h.wait_for(
            lambda: any("every alert has cleared" in r.text for r in replies(h.state, root))
        )
        [row] = await audit_rows(rt, v.INCIDENT_RESOLVED)
        assert (row.actor, row.ref) == ("watchkeeper:automation", incident.ref)


async def test_firing_again_within_the_reopen_window_reopens_later_opens_anew(
    db_url: str,
) -> None:
    clock = Clock()
    async with BotHarness(db_url, clock=clock, grouping={"reopen_minutes": 30}) as h:
        rt = h.bot.runtime
        first = page("fp-1", starts_at=clock.now)
        await ingest(rt, batch(first))
        await ingest(rt, batch(resolved(first)))
        clock.advance(minutes=10)
        again = page("fp-1", starts_at=clock.now)  # the same alert, a new firing
        assert await ingest(rt, batch(again)) == 1
        [incident] = await incidents(rt)
        assert (incident.status, incident.reopened_count) == ("triggered", 1)
        assert len(await audit_rows(rt, v.INCIDENT_REOPENED)) == 1
        await ingest(rt, batch(resolved(again)))
        clock.advance(minutes=45)
        await ingest(rt, batch(page("fp-1", starts_at=clock.now)))
        assert [i.status for i in await incidents(rt)] == ["resolved", "triggered"]
        await settle(rt)
        await h.wait_for(lambda: len(roots(h.state)) == 2)
        root = roots(h.state)[0]
        await h.wait_for(lambda: any("Reopened" in r.text for r in replies(h.state, root)))


async def test_a_replayed_delivery_changes_nothing(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        rt = h.bot.runtime
        assert await ingest(rt, batch(page("fp-1"), delivery_id="wh-1")) == 1
        # The same webhook id again, whatever it carries: nothing.
        assert await ingest(rt, batch(page("fp-9"), delivery_id="wh-1")) == 0
        assert await page_count(rt) == 1


async def test_a_resolution_seen_before_its_firing_opens_no_incident(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        rt = h.bot.runtime
        late = page("fp-1")
        assert await ingest(rt, batch(resolved(late))) == 1
        assert await ingest(rt, batch(late)) == 1
        assert await incidents(rt) == []
        assert await page_count(rt) == 2


async def test_pages_below_every_minimum_are_stored_without_an_incident(db_url: str) -> None:
    async with BotHarness(db_url, routing={"min_severity": "warning"}) as h:
        rt = h.bot.runtime
        assert await ingest(rt, batch(page("fp-1", severity="info"))) == 1
        assert await incidents(rt) == []
        async with rt.sessions() as session:
            stored = (await session.scalars(select(PageRecord))).one()
        assert stored.incident_id is None


async def test_two_replicas_open_one_incident_per_group(db_url: str) -> None:
    """Two bots on one database ingest pages of the same groups at the same moment."""
    async with BotHarness(db_url) as h:
        other = await open_bot(h.config, owner="replica-b", run_worker=False)
        try:
            rts = [h.bot.runtime, other.runtime]
            deliveries = [
                ingest(rts[n % 2], batch(page(f"lag-{n}"), page(f"down-{n}", alertname="Down")))
                for n in range(16)
            ]
            assert sum(await asyncio.gather(*deliveries)) == 32
        finally:
            await other.stop()
        found = await incidents(h.bot.runtime)
        assert sorted((i.title, i.page_count) for i in found) == [
            ("Down", 16),
            ("PostgresReplicationLag", 16),
        ]
        await settle(h.bot.runtime)
        await h.wait_for(lambda: len(roots(h.state)) == 2)
        await h.quiet()
        assert len(roots(h.state)) == 2
