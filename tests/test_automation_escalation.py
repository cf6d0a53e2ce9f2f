"""Simple pages never wake a human: a page an `auto` runbook takes on opens its incident
without mentioning anyone; the on-call is mentioned only when automation cannot fix it.
And a page no replica decided (it died after ingest's commit) is decided by the sweep."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from bot.automation import missed, runner
from bot.incidents.models import PageRecord
from bot.parts import AppParts
from bot.runtime import Runtime
from tests.actions_support import FleetUnderTest
from tests.automation_support import (
    ONCALL,
    automation_harness,
    finished,
    lag_page,
    lagging_page,
    mentions_someone,
    opening_roots,
    settle,
    thread_texts,
)
from tests.incident_helpers import incidents


async def test_an_auto_handled_page_opens_its_incident_without_mentioning_anyone(
    db_url: str,
) -> None:
    async with FleetUnderTest() as fleet, automation_harness(db_url, fleet) as h:
        rt = h.bot.runtime
        await lagging_page(fleet, rt)
        # No runbook for a replica that is down: its incident is people's from the start.
        await lag_page(rt, "pg-billing", "pg-billing-3", alertname="PostgresReplicaDown")
        (run,) = await settle(h, finished(1))
        assert run.state == "succeeded"
        await thread_texts(h, "Fixed without waking anyone")
        lag_root, down_root = await h.wait_for(
            lambda: found if len(found := opening_roots(h)) == 2 else None
        )
        assert "PostgresReplicationLag" in lag_root and not mentions_someone(lag_root)
        assert "PostgresReplicaDown" in down_root and any(who in down_root for who in ONCALL)
        quiet, loud = await incidents(rt)
        assert quiet.mentions == "" and loud.mentions != ""


async def test_a_fix_that_fails_then_mentions_the_on_call(db_url: str) -> None:
    async with FleetUnderTest() as fleet, automation_harness(db_url, fleet) as h:
        rt = h.bot.runtime
        fleet.sim.faults.fail_next_operation("reinit", at_step=1, message="clone failed")
        await lagging_page(fleet, rt)
        (run,) = await settle(h, finished(1))
        assert run.state == "failed"
        (root,) = opening_roots(h)
        assert not mentions_someone(root)
        texts = await thread_texts(h, "automation could not handle this")
        escalated = next(t for t in texts if "automation could not handle this" in t)
        assert "clone failed" in escalated and any(who in escalated for who in ONCALL)
        (incident,) = await incidents(rt)
        # From here the incident is people's: the on-call counts as one of its members.
        assert any(who in incident.mentions for who in ONCALL)


async def test_a_paused_automation_leaves_the_root_to_mention_people(db_url: str) -> None:
    async with FleetUnderTest() as fleet, automation_harness(db_url, fleet) as h:
        await h.command("alice", "/fleet automation pause")
        await h.wait_for_response("alice")
        await lag_page(h.bot.runtime)
        (root,) = await h.wait_for(lambda: opening_roots(h) or None)
        assert any(who in root for who in ONCALL)


async def test_a_storm_of_pages_automation_would_take_still_mentions_the_on_call(
    db_url: str,
) -> None:
    storms = {"threshold": 3}
    async with FleetUnderTest() as fleet, automation_harness(db_url, fleet, storms=storms) as h:
        rt = h.bot.runtime
        for service in ("pg-orders", "pg-billing", "pg-ledger"):
            await lag_page(rt, service, f"{service}-3")  # one region, each an auto runbook's
        found = await h.wait_for(lambda: got if len(got := opening_roots(h)) == 3 else None)
        *quiet_roots, storm_root = found
        assert not any(mentions_someone(root) for root in quiet_roots)
        assert "Alert storm" in storm_root and any(who in storm_root for who in ONCALL)


async def received_ago(rt: Runtime, age: timedelta) -> None:
    """Every stored page as if received `age` ago (the sweep judges pages by their age)."""
    async with rt.sessions() as session, session.begin():
        await session.execute(update(PageRecord).values(received_at=rt.clock() - age))


async def test_the_sweep_decides_a_page_that_no_replica_decided_once(db_url: str) -> None:
    def without_live_path(parts: AppParts) -> None:
        # The replica that stored the page dies before its follow-up decides it.
        parts.hooks.page_followups.remove(runner.on_new_pages)

    async with (
        FleetUnderTest() as fleet,
        automation_harness(db_url, fleet, customize=without_live_path) as h,
    ):
        rt = h.bot.runtime
        await lagging_page(fleet, rt)
        # Unrelated: a page no runbook matches is never the sweep's.
        await lag_page(rt, "pg-billing", "pg-billing-3", alertname="PostgresReplicaDown")
        assert await missed.decide_missed(rt) == 0  # young: still the live path's
        await received_ago(rt, missed.LOOK_BACK + timedelta(minutes=1))
        assert await missed.decide_missed(rt) == 0  # old: escalation has woken people
        await received_ago(rt, missed.GRACE + timedelta(seconds=5))
        assert await missed.decide_missed(rt) == 1
        assert await missed.decide_missed(rt) == 0  # decided once
        (run,) = await settle(h, finished(1))
        assert (run.state, run.service) == ("succeeded", "pg-orders")
        await thread_texts(h, "Fixed without waking anyone")
        assert fleet.calls["start"] == 1
