"""Exactly once across replicas: two app instances on one PostgreSQL and one fleet, hit by
100 concurrent copies of one request (Slack retries, double clicks, both replicas)."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.actions import flow
from bot.actions.guard_chain import Person
from bot.audit.models import AuditEntry
from tests.actions_support import FleetUnderTest, harness, requests
from tests.harness import USERS, BotHarness, find_button

COPIES = 100


async def test_100_copies_of_one_command_make_one_request_and_one_fleet_call(pg_url: str) -> None:
    async with (
        FleetUnderTest() as fleet,
        harness(pg_url, fleet=fleet.backend(), owner="replica-a") as a,
        harness(pg_url, fleet=fleet.backend(), owner="replica-b", slack_of=a) as b,
    ):
        body = a.sender.command_body("/fleet", "restart pg-orders", user_id=USERS["alice"],
                                     user_name="alice", channel_id="C0DEMO001")  # fmt: skip
        kind = "application/x-www-form-urlencoded"
        answers = await asyncio.gather(
            *((a if i % 2 else b).sender.send(body, kind) for i in range(COPIES))
        )
        assert {r.status_code for r in answers} == {200}  # every copy acked
        await a.wait_for_response("alice")
        await asyncio.gather(a.quiet(), b.quiet())  # every copy's listener has decided
        assert len(await requests(a)) == 1
        assert dict(fleet.calls) == {"plan": 1}  # one dry run, nothing started
        assert [r.text for r in a.state.responses() if r.user == USERS["alice"]] == [
            "Preview: restart pg-orders"
        ]


async def test_100_concurrent_confirms_on_two_replicas_start_one_operation(pg_url: str) -> None:
    async with (
        FleetUnderTest() as fleet,
        harness(pg_url, fleet=fleet.backend(), owner="replica-a") as a,
        harness(pg_url, fleet=fleet.backend(), owner="replica-b", slack_of=a) as b,
    ):
        await a.command("alice", "/fleet restart pg-orders member=pg-orders-2")
        preview = await a.wait_for_response("alice")
        confirm = find_button(preview.blocks, "Confirm")
        clicks = [
            (a if i % 2 else b).click("alice", confirm, ephemeral=True) for i in range(COPIES)
        ]
        answers = await asyncio.gather(*clicks)
        assert {r.status_code for r in answers} == {200}
        await asyncio.gather(a.quiet(), b.quiet())  # every click's listener has decided
        assert fleet.calls["start"] == 1
        assert len(fleet.sim.operations()) == 1
        (row,) = await requests(a)
        assert row.operation_id == fleet.sim.operations()[0].id
        async with a.bot.runtime.sessions() as session:
            claims = await session.scalar(
                select(func.count()).where(AuditEntry.action == "operation.requested")
            )
        assert claims == 1


async def test_100_concurrent_submissions_with_one_key_across_replicas(pg_url: str) -> None:
    async with (
        FleetUnderTest() as fleet,
        harness(pg_url, fleet=fleet.backend(), owner="replica-a") as a,
        harness(pg_url, fleet=fleet.backend(), owner="replica-b", slack_of=a) as b,
    ):
        alice = Person(USERS["alice"], "alice")
        draft = flow.Draft("restart", "pg-billing", {}, alice, "C0DEMO001", "slack:same-trigger")

        async def submit(h: BotHarness) -> str:
            return (await flow.submit(h.bot.runtime, draft)).text

        answers = await asyncio.gather(*(submit(a if i % 2 else b) for i in range(COPIES)))
        assert sum("Preview" in t for t in answers) == 1
        assert len(await requests(a)) == 1
        assert dict(fleet.calls) == {"plan": 1}
