"""Approvals reach the approvers, read as transcripts: the card names (and so pings) who can
approve now, each of them gets a direct message linking the card, they are mentioned once
more half-way through the window, and a request nobody approved says so in its thread
(docs/actions.md, "Who is asked to approve"). The bot's clock is moved by the test; the
reminder and expiry jobs are run as their scheduler tick runs them."""

from __future__ import annotations

from typing import Any

from tests import paging_support
from tests.actions_support import PERMISSIONS, ROLES, card, in_thread, policies, text_of
from tests.harness import CHANNEL, USERS, BotHarness, find_button
from tests.incident_helpers import Clock

# bob is on call now; carol, his partner in the rotation, approves nothing.
ROTATION = {**paging_support.ROTATION, "members": ["UBOB0002", "UCAROL03"]}


def harness(db_url: str, clock: Clock, **sections: Any) -> BotHarness:
    base: dict[str, Any] = {
        "roles": ROLES,
        "policies": policies(),
        "permissions": PERMISSIONS,
        "oncall": {"rotations": [ROTATION]},
    }
    return BotHarness(db_url, clock=clock, **{**base, **sections})


async def request_switchover(h: BotHarness) -> Any:
    await h.command("alice", "/fleet switchover pg-orders -- replica is behind")
    preview = await h.wait_for_response("alice")
    await h.click("alice", find_button(preview.blocks, "Confirm"), ephemeral=True)
    return await card(h, "Approval needed: switchover pg-orders")


async def tick(h: BotHarness, job: str) -> None:
    """The job's scheduler tick on this replica, the leader (its lease renewed first, as
    the scheduler does every few seconds of real time)."""
    scheduler = h.bot.runtime.scheduler
    assert await scheduler.renew()
    assert await scheduler.run_now(job)


def top_line(message: Any) -> str:
    assert message.blocks[0]["type"] == "context", message.blocks
    return str(message.blocks[0]["elements"][0]["text"])


async def test_the_on_call_approver_is_pinged_messaged_and_reminded_then_told_it_lapsed(
    db_url: str,
) -> None:
    clock = Clock(paging_support.NOW)
    async with harness(db_url, clock) as h:
        approval = await request_switchover(h)
        # Responders are alice (asking), bob and dave; bob is the one on call now.
        assert top_line(approval) == ":bell: Can approve: <@UBOB0002>"
        dm = await h.wait_for(lambda: h.state.messages("DBOB0002"))
        link = f"https://watchkeeper-demo.slack.com/archives/{CHANNEL}/p"
        assert link + approval.ts.replace(".", "") in dm[0].text
        assert "<@UALICE01> asks for your approval" in dm[0].text
        await h.quiet()
        assert h.state.messages("DDAVE004") == [] and h.state.messages("DALICE01") == []

        clock.advance(minutes=7)  # the window is 15 minutes: not half-way yet
        await tick(h, "actions-remind")
        await h.quiet()
        assert [m for m in h.state.thread(CHANNEL, approval.ts) if m.ts != approval.ts] == []
        clock.advance(minutes=1)
        await tick(h, "actions-remind")
        reminder = await in_thread(h, approval, "Still waiting for an approval")
        assert top_line(reminder) == ":bell: Can approve: <@UBOB0002>"
        # Once: the next ticks (on this leader or another) find it sent.
        await tick(h, "actions-remind")
        await h.quiet()
        waiting = [m for m in h.state.thread(CHANNEL, approval.ts) if "Still waiting" in m.text]
        assert len(waiting) == 1

        clock.advance(minutes=8)
        await tick(h, "actions-expire")
        lapsed = await in_thread(h, approval, "Nobody approved")
        assert "switchover" in lapsed.text and "expired" in lapsed.text
        await h.quiet()
        shown = h.state.find_message(CHANNEL, approval.ts)
        assert shown is not None and "Approve" not in text_of(shown)


async def test_with_no_approver_on_call_the_roles_user_group_is_asked(db_url: str) -> None:
    clock = Clock(paging_support.NOW)
    roles = {
        **ROLES,
        # The stand-in's S0ONCALL1 holds alice and bob; dave is named, and not on call.
        "responder": {"users": [USERS["alice"], USERS["dave"]], "usergroups": ["S0ONCALL1"]},
    }
    nobody = {**ROTATION, "members": ["UCAROL03"]}
    async with harness(db_url, clock, roles=roles, oncall={"rotations": [nobody]}) as h:
        await h.wait_for(lambda: h.bot.runtime.usergroups.members_of("S0ONCALL1"))
        approval = await request_switchover(h)
        assert top_line(approval) == ":bell: Can approve: <!subteam^S0ONCALL1>"
        # The group's members but the requester get the link.
        await h.wait_for(lambda: h.state.messages("DBOB0002"))
        await h.quiet()
        assert h.state.messages("DALICE01") == []
