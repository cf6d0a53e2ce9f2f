"""A replica killed in the middle of an action, and one asked to stop while it works.

SIGKILL after the fleet was asked to start an operation: the restarted process finds the
operation on the fleet and follows it (never starts it again), and the messages queued
while Slack hung are delivered once each, without waiting out the channel lease the killed
process held (the restart runs under the same `server.replica_id`). SIGTERM while a slow
fleet read is under way: the answer still arrives, the process exits 0 within the drain
bound, and the leader lease passes to the other replica at once instead of after its expiry.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.actions.models import ActionRequest
from bot.audit.models import AuditEntry
from bot.db.models import OutboxMessage, SlackRequest
from tests.bot_process import Replicas, count, eventually, figure, leader
from tests.harness import find_button

pytestmark = pytest.mark.integration

ALICE = "UALICE01"
CRASH_CHANNEL = "C0CRASH01"
STOP_CHANNEL = "C0STOP001"
UNDELIVERED = ("pending", "sending")


async def only_request(db: AsyncEngine) -> Any:
    async with db.connect() as conn:
        return (await conn.execute(select(ActionRequest))).one()


async def texts(replicas: Replicas, channel: str) -> str:
    return "\n".join(str(e.get("text")) for e in await replicas.standin.events(channel))


async def test_sigkill_mid_action_is_reconciled_never_rerun_and_the_outbox_resumes(
    pg_url: str, db: AsyncEngine, replicas: Replicas
) -> None:
    standin, fleet = replicas.standin, replicas.fleet
    # A stable name, as a StatefulSet pod has: the restart takes the lanes its killed
    # process held back at once instead of after their 30 s lease.
    config = replicas.config(
        pg_url, channels={"default": CRASH_CHANNEL}, server={"replica_id": "watchkeeper-0"}
    )
    bot = replicas.make("replica", config)
    await replicas.start(bot)
    seen = await standin.last_event()
    sender = bot.sender(standin)
    await sender.command(
        "/fleet", "restart pg-billing member=pg-billing-2",
        user_id=ALICE, user_name="alice", channel_id=CRASH_CHANNEL,
    )  # fmt: skip

    async def preview() -> dict[str, Any] | None:
        answers = await standin.responses(ALICE, since=seen)
        return answers[0] if answers else None

    confirm = find_button((await eventually(preview, what="the preview"))["blocks"], "Confirm")
    # The fleet takes 3 s to answer a start, and Slack hangs on channel posts meanwhile:
    # a send is under way, its channel's lease held, when the kill comes.
    await fleet.set_faults({"latency": 3})
    await standin.set_fault({"mode": "hang", "methods": ["chat.postMessage", "chat.update"]})
    click = {key: confirm[key] for key in ("action_id", "text", "value") if key in confirm}
    await sender.interaction(
        sender.block_action_payload(
            user_id=ALICE,
            user_name="alice",
            channel_id=CRASH_CHANNEL,
            action={**click, "block_id": "b"},
            message={},
            message_ts=None,
            ephemeral=True,
        )
    )

    async def executing() -> bool:
        return bool(await count(db, ActionRequest, ActionRequest.state == "executing"))

    await eventually(executing, what="the claim")
    # The start call is with the fleet, its answer 2 s away. A call the fleet holds leaves
    # no trace to wait on: only time places the kill inside it.
    await asyncio.sleep(1.0)
    queued = await count(db, OutboxMessage, OutboxMessage.status.in_(UNDELIVERED))
    assert queued > 0  # Slack has not taken them: they wait in the outbox
    bot.kill()
    await fleet.set_faults(None)

    async def started_on_the_fleet() -> list[dict[str, Any]]:
        return await fleet.operations("pg-billing")

    # The fleet had the request before the bot died: the operation runs without it.
    await eventually(started_on_the_fleet, within=10, what="the operation on the fleet")
    assert (await only_request(db)).operation_id is None  # the bot never heard back
    await standin.set_fault({"mode": "ok"})

    restarted = time.monotonic()
    bot.start()
    await bot.wait_ready("/readyz")

    async def finished() -> bool:
        return (await only_request(db)).state == "succeeded"

    await eventually(finished, within=30, what="the request's end")
    figure("reconciled and finished after restart", time.monotonic() - restarted, "s")

    async def outbox_empty() -> bool:
        return not await count(db, OutboxMessage, OutboxMessage.status.in_(UNDELIVERED))

    await eventually(outbox_empty, within=15, what="the outbox draining")
    figure("messages queued at SIGKILL, delivered after restart", queued, "messages")
    operations = await fleet.operations("pg-billing")
    row = await only_request(db)
    assert len(operations) == 1 and row.operation_id == operations[0]["id"]  # never re-run
    async with db.connect() as conn:
        audited = (await conn.execute(select(AuditEntry.action, AuditEntry.outcome))).all()
    assert ("operation.reconciled", "accepted") in audited
    shown = await texts(replicas, CRASH_CHANNEL)
    assert "Found it on the fleet" in shown and "post-check passed" in shown

    # None lost, none twice: every row sent once, and Slack took exactly that many posts.
    assert not await count(db, OutboxMessage, OutboxMessage.status == "failed")
    posted_rows = await count(
        db,
        OutboxMessage,
        OutboxMessage.method == "chat.postMessage",
        OutboxMessage.lane == CRASH_CHANNEL,
        OutboxMessage.status == "delivered",
    )
    assert len(await standin.posts(CRASH_CHANNEL)) == posted_rows


async def test_sigterm_finishes_the_request_in_flight_and_hands_the_lease_over(
    pg_url: str, db: AsyncEngine, replicas: Replicas
) -> None:
    standin, fleet = replicas.standin, replicas.fleet
    config = replicas.config(pg_url, channels={"default": STOP_CHANNEL})
    a, b = replicas.make("replica-a", config), replicas.make("replica-b", config)
    await replicas.start(a)

    async def a_leads() -> bool:
        return await leader(db) == a.replica

    await eventually(a_leads, what="replica a leading")
    await replicas.start(b)
    seen = await standin.last_event()
    handled = await count(db, SlackRequest)
    await fleet.set_faults({"latency": 2})  # `/fleet status` reads take 2 s
    try:
        answer = await a.sender(standin).command(
            "/fleet", "status pg-catalog-36",
            user_id=ALICE, user_name="alice", channel_id=STOP_CHANNEL,
        )  # fmt: skip
        assert answer.status_code == 200  # acked; the fleet read goes on after the ack

        async def reading() -> bool:  # past its dedupe row, the listener reads the fleet
            return await count(db, SlackRequest) > handled

        await eventually(reading, what="the command at work")
        code, seconds = await a.terminate()
        stopped = time.monotonic()
    finally:
        await fleet.set_faults(None)
    figure("exit after SIGTERM with a 2 s fleet read in flight", seconds, "s")
    assert code == 0 and seconds < 10

    answers = await standin.responses(ALICE, since=seen)
    assert len(answers) == 1  # the answer was delivered before the process exited
    assert "pg-catalog-36" in answers[0]["text"] and "unavailable" not in answers[0]["text"]

    async def b_leads() -> bool:
        return await leader(db) == b.replica

    await eventually(b_leads, within=5, what="replica b taking the lease")
    handover = time.monotonic() - stopped
    figure("scheduler handover after SIGTERM of the leader", handover, "s")
    assert handover < 2.0  # a renewal (0.5 s), not the lease's expiry (2 s) after it
