"""Transcripts of guarded actions through the real app: command, preview, confirm, approve,
the operation on the simulated fleet, the thread, the lock and the audit rows."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

from bot.actions import flow
from bot.actions.guard_chain import Person
from bot.actions.tracking import expire_stale
from bot.audit.hash_chain import KeyRing
from bot.audit.verifier import verify
from tests.actions_support import (
    audit_rows,
    card,
    fleet_operations,
    fleet_service,
    harness,
    in_thread,
    nothing_ran,
    only_request,
    primary_of,
    requests,
    text_of,
)
from tests.harness import CHANNEL, USERS, find_button


async def test_alice_switches_over_pg_orders_with_bobs_approval(db_url: str) -> None:
    async with harness(db_url) as h:
        before = primary_of(await fleet_service(h, "pg-orders"))
        await h.command("alice", "/fleet switchover pg-orders -- replica is behind")
        preview = await h.wait_for_response("alice")
        assert "Preview: switchover pg-orders" in text_of(preview)
        assert "New primary" in text_of(preview) and "What will change" in text_of(preview)
        assert await fleet_operations(h) == []
        confirm = find_button(preview.blocks, "Confirm")
        assert confirm["value"] == (await only_request(h)).id  # the request id, nothing else
        await h.click("alice", confirm, ephemeral=True)
        approval = await card(h, "Approval needed: switchover pg-orders")
        assert await fleet_operations(h) == []
        await h.click("bob", find_button(approval.blocks, "Approve"), message_ts=approval.ts)
        result = await in_thread(h, approval, "post-check")
        assert "succeeded" in result.text and "post-check passed" in result.text
        assert "audit #" in text_of(result)
        ops = await fleet_operations(h, "pg-orders")
        assert len(ops) == 1 and ops[0]["actor"] == USERS["alice"]
        assert primary_of(await fleet_service(h, "pg-orders")) != before
        row = await only_request(h)
        assert (row.state, row.operation_id) == ("succeeded", ops[0]["id"])
        # The card itself shows the end, and its buttons are gone.
        await h.wait_for(lambda: "succeeded" in text_of(h.state.find_message(CHANNEL, approval.ts)))
        assert "Approve" not in text_of(h.state.find_message(CHANNEL, approval.ts))
        actions = [(r.action, r.outcome, r.actor) for r in await audit_rows(h, row.id)]
        assert actions == [
            ("guard.decided", "needs_confirmation", USERS["alice"]),
            ("confirmation", "confirmed", USERS["alice"]),
            ("approval.requested", "needs_approval", USERS["alice"]),
            ("approval.decided", "approved", USERS["bob"]),
            ("guard.decided", "accepted", USERS["bob"]),
            ("operation.requested", "accepted", USERS["alice"]),
            ("operation.started", "accepted", USERS["alice"]),
            ("operation.finished", "succeeded", USERS["alice"]),
            ("operation.post_check", "succeeded", USERS["alice"]),
        ]
        async with h.bot.runtime.engine.connect() as conn:
            report = await verify(conn, KeyRing.from_config(h.config.audit))
        assert report.ok


async def test_a_medium_action_runs_after_confirmation_without_approval(db_url: str) -> None:
    async with harness(db_url) as h:
        await h.command("alice", "/fleet restart pg-billing member=pg-billing-3")
        preview = await h.wait_for_response("alice")
        assert "Confirm" in text_of(preview)
        await h.click("alice", find_button(preview.blocks, "Confirm"), ephemeral=True)
        announcement = await card(h, "restart pg-billing")
        await in_thread(h, announcement, "post-check passed")
        assert len(await fleet_operations(h, "pg-billing")) == 1
        # The preview was replaced, so its buttons are gone.
        replaced = await h.wait_for_response("alice", count=2)
        assert replaced.replace_original and "Confirm" not in text_of(replaced)


async def test_pause_needs_confirmation_and_resume_low_risk_runs_at_once(db_url: str) -> None:
    async with harness(db_url) as h:
        await h.command("bob", "/fleet pause redis-sessions -- noisy failovers")
        preview = await h.wait_for_response("bob")
        await h.click("bob", find_button(preview.blocks, "Confirm"), ephemeral=True)
        paused = await card(h, "pause redis-sessions")
        await in_thread(h, paused, "post-check passed")
        assert (await fleet_service(h, "redis-sessions"))["paused"] is True
        await h.command("bob", "/fleet resume redis-sessions")
        started = await h.wait_for_response("bob", count=3)
        assert "started as" in started.text  # low risk: no preview to confirm
        resumed = await card(h, "resume redis-sessions")
        await in_thread(h, resumed, "post-check passed")
        assert (await fleet_service(h, "redis-sessions"))["paused"] is False


async def test_cancel_on_the_preview_runs_nothing_and_frees_the_lock(db_url: str) -> None:
    async with harness(db_url) as h:
        await h.command("alice", "/fleet restart pg-orders")
        preview = await h.wait_for_response("alice")
        await h.command("alice", "/fleet locks")
        locks = await h.wait_for_response("alice", count=2)
        assert "pg-orders" in text_of(locks) and USERS["alice"] in text_of(locks)
        await h.click("alice", find_button(preview.blocks, "Cancel"), ephemeral=True)
        cancelled = await h.wait_for_response("alice", count=3)
        assert "will not run" in cancelled.text
        await h.command("alice", "/fleet locks")
        assert "No service is locked" in (await h.wait_for_response("alice", count=4)).text
        assert (await only_request(h)).state == "cancelled"
        await h.click("alice", find_button(preview.blocks, "Confirm"), ephemeral=True)
        late = await h.wait_for_response("alice", count=5)
        assert "already cancelled" in late.text
        await nothing_ran(h)


async def test_a_locked_target_names_who_holds_it_and_since_when(db_url: str) -> None:
    async with harness(db_url) as h:
        await h.command("alice", "/fleet restart pg-billing")
        await h.wait_for_response("alice")
        await h.command("bob", "/fleet reinit pg-billing member=pg-billing-2")
        refused = await h.wait_for_response("bob")
        holder = (await requests(h))[0]
        assert f"locked by <@{USERS['alice']}>" in refused.text
        assert f"since {holder.created_at:%Y-%m-%d %H:%M} UTC" in refused.text
        assert holder.id in refused.text
        await nothing_ran(h)


async def test_fleet_cancel_stops_a_running_operation(db_url: str) -> None:
    async with harness(db_url) as h:
        await h.command("alice", "/fleet maintenance run pg-orders -- patch release")
        preview = await h.wait_for_response("alice")
        await h.click("alice", find_button(preview.blocks, "Confirm"), ephemeral=True)
        announcement = await card(h, "maintenance pg-orders")
        await h.wait_for(lambda: h.state.thread("C0DEMO001", announcement.ts)[1:])

        async def started() -> Any:
            row = await only_request(h)
            return row if row.operation_id else None

        row = await h.eventually(started)
        await h.command("bob", f"/fleet cancel {row.operation_id}")
        asked = await h.wait_for_response("bob")
        assert "asked the fleet to cancel" in asked.text
        await in_thread(h, announcement, "cancelled by")
        assert (await only_request(h)).state == "cancelled"
        await h.command("alice", "/fleet ops pg-orders")
        ops = await h.wait_for_response("alice", count=3)
        assert row.operation_id in text_of(ops) and "cancelled" in text_of(ops)


async def test_break_glass_skips_freeze_and_approval_but_announces_itself(db_url: str) -> None:
    freeze = [{"name": "quarter close", "start": "2020-01-01T00:00:00Z",
               "end": "2099-01-01T00:00:00Z"}]  # fmt: skip
    async with harness(db_url, freeze=freeze) as h:
        await h.command("alice", "/fleet failover pg-orders")
        frozen = await h.wait_for_response("alice")
        assert "Change freeze 'quarter close' is on" in frozen.text
        await h.command("erin", "/fleet break-glass failover pg-orders -- primary hung")
        assert "may not run" in (await h.wait_for_response("erin")).text
        await h.command("alice", "/fleet break-glass failover pg-orders")
        assert "needs a reason" in (await h.wait_for_response("alice", count=2)).text
        await h.command("alice", "/fleet break-glass failover pg-orders -- primary hung")
        preview = await h.wait_for_response("alice", count=3)
        await card(h, "Break-glass")  # announced in the channel before anything runs
        assert await fleet_operations(h) == []
        await h.click("alice", find_button(preview.blocks, "Confirm"), ephemeral=True)
        running = await card(h, "BREAK-GLASS failover pg-orders")
        await in_thread(h, running, "post-check")
        assert len(await fleet_operations(h, "pg-orders")) == 1
        row = next(r for r in await requests(h) if r.break_glass and r.state == "succeeded")
        assert row.approvals_required == 0
        outcomes = [(r.action, r.outcome) for r in await audit_rows(h, row.id)]
        assert ("break_glass.used", "accepted") in outcomes


async def test_an_unconfirmed_preview_lapses_and_releases_its_lock(db_url: str) -> None:
    async with harness(db_url) as h:
        await h.command("alice", "/fleet restart pg-orders")
        preview = await h.wait_for_response("alice")
        rt = h.bot.runtime
        # The sweep runs 11 minutes later; the bot itself keeps the real clock.
        later = replace(rt, clock=lambda: rt.clock() + timedelta(minutes=11))
        assert await expire_stale(later) == 1
        row = await only_request(h)
        assert row.state == "expired"
        await h.click("alice", find_button(preview.blocks, "Confirm"), ephemeral=True)
        assert "already expired" in (await h.wait_for_response("alice", count=2)).text
        rows = await audit_rows(h, row.id)
        assert (rows[-1].action, rows[-1].outcome) == ("action.expired", "expired")
        assert json.loads(rows[-1].params)["lock_released"] is True
        await nothing_ran(h)


async def test_a_request_from_an_incident_thread_keeps_to_that_thread(db_url: str) -> None:
    async with harness(db_url) as h:
        root = h.state.post_message(0, CHANNEL, "Incident: pg-orders replica lagging", [])
        alice = Person(USERS["alice"], "alice")
        draft = flow.Draft("reinit", "pg-orders", {"member": "pg-orders-3"}, alice, CHANNEL,
                           "slack:incident-1", thread_ts=root.ts)  # fmt: skip
        assert "started as" in (await flow.submit(h.bot.runtime, draft)).text  # low risk
        await in_thread(h, root, "post-check passed")
        await in_thread(h, root, "reinit pg-orders")  # the card itself is in the thread
        posted = [m for m in h.state.messages(CHANNEL) if m.ts != root.ts]
        assert posted and all(m.thread_ts == root.ts and not m.orphan for m in posted)
