"""Campaigns through signed Slack requests, against the simulated fleet, on SQLite and
PostgreSQL: plan, two-person approval bound to the target list, waves with bake, the
halting rules, pause/resume/abort, and who may do what.

`rotate-credentials` is the action: the simulator runs it in about two seconds, so a
wave is quick.
"""

from __future__ import annotations

import io
import json

from bot.audit.export import ExportFilter, export_entries
from bot.campaigns import runner
from tests.actions_support import audit_rows, fleet_operations, in_thread, sim_control, text_of
from tests.campaign_support import (
    acted_on,
    campaign_card,
    campaign_harness,
    card_now,
    plan_and_approve,
    send_page,
    state_is,
    targets,
    the_campaign,
    wave_rows,
)
from tests.harness import USERS, find_button

SELECTOR = "engine=postgres region=eu-west-1 version=16.4 health=healthy"


async def test_a_campaign_runs_wave_by_wave_after_a_second_persons_approval(db_url: str) -> None:
    async with campaign_harness(db_url) as h:
        await h.command(
            "alice",
            f"/fleet campaign rotate-credentials {SELECTOR} concurrency=8 waves=1,25%,100% bake=0",
        )
        answer = await h.wait_for_response("alice")
        assert "planned" in text_of(answer), text_of(answer)
        root = await campaign_card(h)
        shown = text_of(root)
        assert "Planned" in shown and "Waves: 1 → " in shown and "eu-west-1" in shown
        assert "Estimated duration" in shown
        assert await fleet_operations(h) == []
        await h.click("bob", find_button(root.blocks, "Approve"), message_ts=root.ts)
        campaign = await state_is(h, "finished")
        runnable = [t for t in await targets(h) if t.position >= 0]
        assert {t.state for t in runnable} == {"succeeded"}
        succeeded = sorted(t.service for t in runnable)
        # Each target acted on exactly once: one operation each, none for the refused.
        assert sorted(await acted_on(h)) == succeeded
        ends = json.loads(campaign.wave_ends)
        assert len(ends) == 3 and ends[0] == 1
        assert wave_rows(await audit_rows(h)) == [
            ("started", 1), ("baked", 1), ("started", 2), ("baked", 2), ("started", 3)
        ]  # fmt: skip
        # Wave by wave: every target of a wave was claimed after the wave before it ended.
        for wave, end in enumerate(ends[1:], start=1):
            before = [t for t in runnable if t.position < ends[wave - 1]]
            later = [t for t in runnable if ends[wave - 1] <= t.position < end]
            last_end = max(t.finished_at for t in before)
            assert all(t.claimed_at >= last_end for t in later)
        lifecycle = [r.action for r in await audit_rows(h) if r.action.startswith("campaign.")]
        assert lifecycle[0] == "campaign.planned" and lifecycle[-1] == "campaign.finished"
        assert "campaign.approved" in lifecycle
        # Every target's action is audited as a request of the campaign's owner.
        started = [r for r in await audit_rows(h) if r.action == "operation.started"]
        assert len(started) == len(succeeded)
        assert all(r.actor == USERS["alice"] for r in started)
        assert all(json.loads(r.params)["approved_by"] == [USERS["bob"]] for r in started)
        await h.wait_for(lambda: "Finished" in card_now(h, root))
        # `audit export --campaign` selects exactly the campaign's rows: its lifecycle and
        # every target's action, and none of the commands around it.
        out = io.StringIO()
        async with h.bot.runtime.engine.connect() as conn:
            await export_entries(conn, out, fmt="jsonl", where=ExportFilter(campaign=campaign.id))
        exported = [json.loads(line) for line in out.getvalue().splitlines()]
        mine = [
            r.seq
            for r in await audit_rows(h)
            if r.ref == campaign.id or json.loads(r.params).get("campaign") == campaign.id
        ]
        assert [r["seq"] for r in exported] == mine
        assert {r["action"] for r in exported} >= {"campaign.planned", "operation.started"}
        assert "command.invoked" not in {r["action"] for r in exported}


async def test_failures_past_max_errors_halt_it_and_ping_owner_and_on_call(db_url: str) -> None:
    async with campaign_harness(db_url) as h:
        found = await plan_and_approve(
            h,
            f"rotate-credentials {SELECTOR} concurrency=2 waves=100% max_errors=1 bake=0",
            fail_after=1,
        )
        root, failing = found
        campaign = await state_is(h, "halted")
        assert "more than max_errors=1" in (campaign.detail or "")
        ping = await in_thread(h, root, "the campaign halted")
        assert f"<@{USERS['alice']}>" in ping.text
        grouped = await in_thread(h, root, "Failed or refused")
        assert "(generate new credentials) failed — 2:" in text_of(grouped)
        await h.quiet()
        # Running targets finished; none started after the halt.
        rows = await targets(h)
        assert {t.state for t in rows if t.position >= 0} >= {"pending"}
        assert all(t.state != "starting" for t in rows)
        acted = await acted_on(h)
        assert len(acted) == len({t.service for t in rows if t.request_id})
        assert sum(1 for t in rows if t.state == "failed") == 2
        await runner.step(h.bot.runtime, campaign.id)
        assert sorted(await acted_on(h)) == sorted(acted)  # a halted campaign starts nothing
        assert [r.outcome for r in await audit_rows(h) if r.action == "campaign.halted"] == [
            "halted"
        ]
        assert failing


async def test_a_page_for_a_target_during_the_bake_halts_it(db_url: str) -> None:
    async with campaign_harness(db_url) as h:
        root, _ = await plan_and_approve(h, f"rotate-credentials {SELECTOR} waves=1,100% bake=1h")
        first = await h.eventually(_baking(h))
        await send_page(h, first)
        campaign = await state_is(h, "halted")
        assert "new pages" in (campaign.detail or "") and first in (campaign.detail or "")
        await in_thread(h, root, "the campaign halted")
        # Only the first wave ran.
        assert await acted_on(h) == [first]


def _baking(h):  # type: ignore[no-untyped-def]
    async def probe() -> str | None:
        c = await the_campaign(h)
        if c.bake_until is None:
            return None
        done = [t for t in await targets(h) if t.state == "succeeded"]
        return done[0].service if done else None

    return probe


async def test_pause_resume_and_abort_as_written(db_url: str) -> None:
    async with campaign_harness(db_url) as h:
        root, _ = await plan_and_approve(
            h, f"rotate-credentials {SELECTOR} concurrency=1 waves=100% bake=0"
        )
        await h.eventually(_some_succeeded(h, 1))
        await h.click("dave", find_button(card_blocks(h, root), "Pause"), message_ts=root.ts)
        campaign = await state_is(h, "paused")
        await h.eventually(_none_running(h))
        acted = await acted_on(h)
        for _ in range(3):
            await runner.step(h.bot.runtime, campaign.id)
        assert await acted_on(h) == acted  # paused: nothing new starts
        await h.wait_for(lambda: "Resume" in card_now(h, root))
        await h.click("bob", find_button(card_blocks(h, root), "Resume"), message_ts=root.ts)
        await state_is(h, "running")
        await h.eventually(_some_succeeded(h, len(acted) + 1))
        await h.command("alice", f"/fleet campaign abort {campaign.id}")
        await state_is(h, "aborted")
        await h.eventually(_none_running(h))
        rows = await targets(h)
        assert any(t.state == "pending" for t in rows)  # never started
        assert sorted(await acted_on(h)) == sorted(t.service for t in rows if t.request_id)
        steered = [
            (r.outcome, r.actor) for r in await audit_rows(h) if r.action == "campaign.steered"
        ]
        assert steered == [
            ("paused", USERS["dave"]), ("resumed", USERS["bob"]), ("aborted", USERS["alice"])
        ]  # fmt: skip
        await in_thread(h, root, "aborted by")


def card_blocks(h, root):  # type: ignore[no-untyped-def]
    from tests.harness import CHANNEL

    return h.state.find_message(CHANNEL, root.ts).blocks


def _some_succeeded(h, n: int):  # type: ignore[no-untyped-def]
    async def probe() -> bool | None:
        rows = await targets(h)
        return True if sum(1 for t in rows if t.state in ("succeeded", "refused")) >= n else None

    return probe


def _none_running(h):  # type: ignore[no-untyped-def]
    async def probe() -> bool | None:
        rows = await targets(h)
        return True if all(t.state not in ("starting", "running") for t in rows) else None

    return probe


async def test_a_changed_target_set_asks_for_approval_again(db_url: str) -> None:
    async with campaign_harness(db_url) as h:
        await h.command("alice", f"/fleet campaign rotate-credentials {SELECTOR} waves=100%")
        root = await campaign_card(h)
        planned = await the_campaign(h)
        victim = next(t.service for t in await targets(h) if t.position >= 0)
        await sim_control(h, "/_sim/degrade", {"service": victim})
        await h.click("bob", find_button(root.blocks, "Approve"), message_ts=root.ts)
        await in_thread(h, root, "The fleet changed since the preview")
        again = await the_campaign(h)
        assert again.state == "planned"
        assert again.target_digest != planned.target_digest
        assert again.target_count == planned.target_count - 1
        assert await fleet_operations(h) == []
        replanned = [r for r in await audit_rows(h) if r.action == "campaign.replanned"]
        assert len(replanned) == 1
        await h.click("bob", find_button(card_blocks(h, root), "Approve"), message_ts=root.ts)
        await state_is(h, "running")
        assert victim not in {t.service for t in await targets(h)}


async def test_a_stranger_cannot_approve_pause_or_abort(db_url: str) -> None:
    async with campaign_harness(db_url) as h:
        await h.command("alice", f"/fleet campaign rotate-credentials {SELECTOR} waves=100%")
        root = await campaign_card(h)
        await h.click("carol", find_button(root.blocks, "Approve"), message_ts=root.ts)
        await h.quiet()
        await h.click("alice", find_button(root.blocks, "Approve"), message_ts=root.ts)
        await h.quiet()
        campaign = await the_campaign(h)
        assert campaign.state == "planned"
        await h.click("bob", find_button(root.blocks, "Approve"), message_ts=root.ts)
        await state_is(h, "running")
        await h.command("carol", f"/fleet campaign pause {campaign.id}")
        await h.quiet()
        await h.command("carol", f"/fleet campaign abort {campaign.id}")
        await h.quiet()
        assert (await the_campaign(h)).state in ("running", "finished")
        decided = [
            (r.outcome, r.actor)
            for r in await audit_rows(h)
            if r.action in ("campaign.approval_decided", "campaign.steered")
        ]
        assert decided == [
            ("denied", USERS["carol"]),
            ("denied", USERS["alice"]),  # her own campaign
            ("approved", USERS["bob"]),
            ("denied", USERS["carol"]),
            ("denied", USERS["carol"]),
        ]
        refusals = [text_of(r) for r in h.state.responses() if r.user == USERS["carol"]]
        assert any("may not pause" in t for t in refusals)
        assert any("may not abort" in t for t in refusals)


async def test_automations_kill_switch_halts_a_campaign(db_url: str) -> None:
    async with campaign_harness(db_url) as h:
        await h.command("alice", "/fleet automation pause -- fleet looks wrong")
        root, _ = await plan_and_approve(h, f"rotate-credentials {SELECTOR} waves=100%")
        campaign = await state_is(h, "halted")
        assert "kill switch" in (campaign.detail or "")
        await in_thread(h, root, "the campaign halted")
        await h.quiet()
        assert await fleet_operations(h) == []
