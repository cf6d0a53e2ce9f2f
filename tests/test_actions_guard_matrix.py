"""The guard matrix: every way a request must not run, through the real app, and proof
from the simulator's own operations list that nothing reached the fleet unless every guard
allowed it."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import pytest
from sqlalchemy import update

from bot.actions import flow, guards
from bot.actions.guard_chain import GuardContext, Person, Verdict
from bot.actions.models import ActionRequest
from bot.parts import AppParts
from bot.runtime import MembershipQuestion
from tests.actions_support import (
    PERMISSIONS,
    audit_rows,
    card,
    fleet_operations,
    harness,
    in_thread,
    nothing_ran,
    only_request,
    requests,
    sim_control,
    text_of,
)
from tests.harness import USERS, BotHarness, find_button

TWO_APPROVALS = {
    "rules": [
        {"actions": ["switchover", "failover"], "roles": ["responder"],
         "approval": {"roles": ["responder"], "count": 2}},
        {"actions": ["restart", "cancel"], "roles": ["responder"]},
    ]
}  # fmt: skip


async def refused(h: BotHarness, user: str, line: str, count: int = 1) -> str:
    await h.command(user, line)
    answer = await h.wait_for_response(user, count=count)
    return answer.text


async def approval_card(h: BotHarness, line: str = "/fleet switchover pg-orders") -> Any:
    """alice asks and confirms; the approval card is in the channel."""
    seen = len([r for r in h.state.responses() if r.user == USERS["alice"]])
    await h.command("alice", line)
    preview = await h.wait_for_response("alice", count=seen + 1)
    await h.click("alice", find_button(preview.blocks, "Confirm"), ephemeral=True)
    await h.wait_for_response("alice", count=seen + 2)  # the preview turns into "confirmed"
    # A copy, as a Slack client that has not refreshed still shows the buttons.
    return copy.deepcopy(await card(h, "Approval needed"))


async def click_card(h: BotHarness, user: str, label: str, message: Any) -> str:
    before = len([r for r in h.state.responses() if r.user == USERS[user]])
    await h.click(user, find_button(message.blocks, label), message_ts=message.ts)
    return (await h.wait_for_response(user, count=before + 1)).text


async def test_no_policy_means_refused(db_url: str) -> None:
    async with harness(db_url, rules=[]) as h:
        text = await refused(h, "alice", "/fleet restart pg-orders")
        assert "No policy allows `restart` on `pg-orders`" in text
        assert "(audit #" in text
        await nothing_ran(h)


async def test_a_user_without_the_role_is_refused(db_url: str) -> None:
    async with harness(db_url) as h:
        text = await refused(h, "erin", "/fleet restart pg-orders")
        assert "may not run `restart`" in text and "*responder*" in text
        await nothing_ran(h)


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ('/fleet restart ""', "target is empty"),
        ('/fleet restart "*"', "is a pattern, not a service"),
        ("/fleet restart pg-*", "is a pattern, not a service"),
        ("/fleet restart all", "is a pattern, not a service"),
        ("/fleet restart pg-orders membr=pg-orders-2", "not `membr`"),
        ("/fleet replace pg-orders", "needs member"),
    ],
)
async def test_empty_wildcard_and_malformed_requests_are_errors(
    db_url: str, line: str, why: str
) -> None:
    async with harness(db_url) as h:
        assert why in await refused(h, "alice", line)
        await nothing_ran(h)


async def test_alice_cannot_approve_her_own_request(db_url: str) -> None:
    async with harness(db_url) as h:
        approval = await approval_card(h)
        text = await click_card(h, "alice", "Approve", approval)
        assert "cannot approve (or deny) your own request" in text
        assert (await only_request(h)).state == "confirmed"
        await nothing_ran(h)
        row = await only_request(h)
        assert [(r.action, r.outcome, r.actor) for r in await audit_rows(h, row.id)][-1] == (
            "guard.decided", "denied", USERS["alice"])  # fmt: skip


async def test_a_second_click_by_the_same_approver_is_not_a_second_approval(db_url: str) -> None:
    async with harness(db_url, **TWO_APPROVALS) as h:
        approval = await approval_card(h)
        assert "recorded; the request still needs approval" in await click_card(
            h, "bob", "Approve", approval
        )
        # The card's edit goes through the outbox, after the click's answer.
        await h.wait_for(lambda: "(1/2)" in text_of(h.state.find_message("C0DEMO001", approval.ts)))
        assert "one decision per person" in await click_card(h, "bob", "Approve", approval)
        assert (await only_request(h)).state == "confirmed"
        await nothing_ran(h)


async def test_an_expired_approval_does_not_run(db_url: str) -> None:
    policy = {"rules": [{"actions": ["switchover"], "roles": ["responder"],
                         "approval": {"expires_minutes": 0.02}}]}  # fmt: skip
    async with harness(db_url, **policy) as h:
        approval = await approval_card(h)
        await asyncio.sleep(1.5)  # the 1.2 s approval window running out is what is tested
        assert "approval window expired" in await click_card(h, "bob", "Approve", approval)
        assert (await only_request(h)).state == "expired"
        await nothing_ran(h)


async def test_an_approval_does_not_carry_over_to_changed_parameters(db_url: str) -> None:
    async with harness(db_url, **TWO_APPROVALS) as h:
        approval = await approval_card(h, "/fleet switchover pg-orders candidate=pg-orders-2")
        await click_card(h, "bob", "Approve", approval)
        row = await only_request(h)
        # Someone edits the stored parameters after bob approved them.
        async with h.bot.runtime.sessions() as session, session.begin():
            await session.execute(
                update(ActionRequest)
                .where(ActionRequest.id == row.id)
                .values(params=json.dumps({"candidate": "pg-orders-3"}))
            )
        text = await click_card(h, "dave", "Approve", approval)
        assert "parameters changed" in text
        assert (await only_request(h)).state == "denied"
        await nothing_ran(h)


async def test_a_new_request_with_other_parameters_needs_its_own_approval(db_url: str) -> None:
    async with harness(db_url) as h:
        first = await approval_card(h, "/fleet switchover pg-orders candidate=pg-orders-2")
        await click_card(h, "bob", "Deny", first)
        await h.command("alice", "/fleet switchover pg-orders candidate=pg-orders-3")
        preview = await h.wait_for_response("alice", count=3)
        assert "then approval by" in text_of(preview)
        await h.click("alice", find_button(preview.blocks, "Confirm"), ephemeral=True)
        second = await h.wait_for(
            lambda: [
                m
                for m in h.state.messages("C0DEMO001")
                if "Approval needed" in m.text and m.ts != first.ts
            ]
        )
        assert "Approve" in text_of(second[0])
        await nothing_ran(h)


async def test_the_same_request_key_with_other_parameters_is_an_error(db_url: str) -> None:
    async with harness(db_url) as h:
        alice = Person(USERS["alice"], "alice")
        draft = flow.Draft("restart", "pg-orders", {"member": "pg-orders-2"}, alice, "C0DEMO001",
                           "slack:trigger-1")  # fmt: skip
        rt = h.bot.runtime
        first = await flow.submit(rt, draft)
        assert "Preview" in first.text
        again = await flow.submit(rt, draft)
        assert "already previewed" in again.text
        other = flow.Draft("restart", "pg-orders", {"member": "pg-orders-3"}, alice, "C0DEMO001",
                           "slack:trigger-1")  # fmt: skip
        assert "already used with other parameters" in (await flow.submit(rt, other)).text
        assert len(await requests(h)) == 1
        await nothing_ran(h)


async def test_one_deny_vetoes_an_earlier_approval(db_url: str) -> None:
    async with harness(db_url, **TWO_APPROVALS) as h:
        approval = await approval_card(h)
        await click_card(h, "bob", "Approve", approval)
        assert "You denied" in await click_card(h, "dave", "Deny", approval)
        assert (await only_request(h)).state == "denied"
        await h.quiet()  # the card's edit goes through the outbox, after the click's answer
        live = h.state.find_message("C0DEMO001", approval.ts)
        assert "Approve" not in text_of(live)  # the card lost its buttons; a stale client:
        assert "already denied" in await click_card(h, "carol", "Approve", approval)
        await nothing_ran(h)


async def test_a_deny_after_the_last_approval_is_too_late_and_says_how_to_stop(db_url: str) -> None:
    async with harness(db_url) as h:
        approval = await approval_card(h)
        await click_card(h, "bob", "Approve", approval)
        text = await click_card(h, "dave", "Deny", approval)
        assert "already" in text
        await in_thread(h, approval, "post-check")
        assert len(await fleet_operations(h)) == 1  # bob's approval was a real one


async def test_a_guard_that_raises_denies(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        name = "broken"

        def check(self, ctx: GuardContext) -> Verdict:
            raise RuntimeError("bug in a guard")

    monkeypatch.setattr(guards, "PRE_PLAN", (*guards.PRE_PLAN, Broken()))
    async with harness(db_url) as h:
        text = await refused(h, "alice", "/fleet restart pg-orders")
        assert "the broken check failed, so the request is refused" in text
        await nothing_ran(h)


@pytest.mark.parametrize(
    "window",
    [
        {"name": "release week", "start": "2020-01-01T00:00:00Z", "end": "2099-01-01T00:00:00Z"},
        {"name": "every minute", "cron": "* * * * *", "duration_minutes": 5},
    ],
)
async def test_a_change_freeze_refuses(db_url: str, window: dict[str, Any]) -> None:
    async with harness(db_url, freeze=[window]) as h:
        text = await refused(h, "alice", "/fleet restart pg-orders")
        assert f"Change freeze '{window['name']}' is on" in text
        await nothing_ran(h)


async def test_the_rate_limit_per_service_refuses_the_next(db_url: str) -> None:
    limit = [{"per": "service", "limit": 1, "window_minutes": 60}]
    async with harness(db_url, rate_limits=limit) as h:
        await h.command("alice", "/fleet reinit pg-orders member=pg-orders-3")
        started = await h.wait_for(
            lambda: [r for r in h.state.responses() if "started as" in r.text]
        )
        assert started

        async def none_executing() -> bool:
            return all(r.state != "executing" for r in await requests(h))

        await h.eventually(none_executing)
        text = await refused(h, "alice", "/fleet reinit pg-orders member=pg-orders-2", count=2)
        assert "Rate limit: at most 1 executions per service (`pg-orders`)" in text
        assert len(await fleet_operations(h)) == 1  # only the one every guard allowed


async def test_the_capacity_floor_keeps_enough_healthy_members(db_url: str) -> None:
    async with harness(db_url, min_healthy_members=2) as h:
        await sim_control(h, "/_sim/degrade", {"service": "pg-orders", "member": "pg-orders-3"})
        text = await refused(h, "alice", "/fleet restart pg-orders member=pg-orders-2")
        assert "Capacity floor: `pg-orders` has 2 healthy members" in text
        await nothing_ran(h)


async def test_the_fleet_wide_concurrency_cap(db_url: str) -> None:
    async with harness(db_url, max_concurrent_operations=1) as h:
        await h.command("alice", "/fleet maintenance run pg-orders")
        preview = await h.wait_for_response("alice")
        await h.click("alice", find_button(preview.blocks, "Confirm"), ephemeral=True)
        await h.wait_for(lambda: [r for r in h.state.responses() if "started as" in r.text])
        text = await refused(h, "bob", "/fleet restart pg-billing")
        assert "1 operations are running fleet-wide (cap 1)" in text
        assert [op["target"] for op in await fleet_operations(h)] == ["pg-orders"]


async def test_someone_without_an_approver_role_cannot_approve(db_url: str) -> None:
    async with harness(db_url) as h:
        approval = await approval_card(h)
        assert "Approving this needs the role" in await click_card(h, "erin", "Approve", approval)
        assert "Approving this needs the role" in await click_card(h, "erin", "Deny", approval)
        assert (await only_request(h)).state == "confirmed"
        await nothing_ran(h)


async def test_a_plan_that_changed_since_the_preview_is_refused(db_url: str) -> None:
    async with harness(db_url) as h:
        await h.command("alice", "/fleet switchover pg-orders")
        preview = await h.wait_for_response("alice")
        promoted = "pg-orders-3" if "`pg-orders-3` (lag" in text_of(preview) else "pg-orders-2"
        await sim_control(h, "/_sim/degrade", {"service": "pg-orders", "member": promoted,
                                               "lag_bytes": 512 * 1024 * 1024})  # fmt: skip
        await h.click("alice", find_button(preview.blocks, "Confirm"), ephemeral=True)
        answer = await h.wait_for_response("alice", count=2)
        assert "plan changed since the preview" in answer.text
        await nothing_ran(h)


async def test_on_call_and_incident_membership_when_the_policy_asks(db_url: str) -> None:
    rules = [
        {"actions": ["restart"], "resources": ["pg-*"], "roles": ["responder"],
         "require_oncall": True},
        {"actions": ["restart"], "resources": ["redis-*"], "roles": ["responder"],
         "require_incident": True},
    ]  # fmt: skip
    roles = {"responder": {"users": [USERS["alice"], USERS["bob"]]},
             "oncall": {"users": [USERS["bob"]]}, "auditor": {"users": []}}  # fmt: skip
    # The incidents area's answer, replaced: first it cannot tell, then only alice is in.
    can_tell = False

    async def only_alice(rt: Any, asked: MembershipQuestion) -> bool | None:
        return asked.user_id == USERS["alice"] if can_tell else None

    def membership(parts: AppParts) -> None:
        parts.hooks.incident_membership = only_alice

    async with BotHarness(
        db_url,
        roles=roles,
        policies={"rules": rules},
        permissions=PERMISSIONS,
        customize=membership,
    ) as h:
        assert "whoever is on call" in await refused(h, "alice", "/fleet restart pg-orders")
        assert "Preview" in await refused(h, "bob", "/fleet restart pg-orders")
        # Membership nobody can check is not assumed ...
        text = await refused(h, "bob", "/fleet restart redis-sessions", count=2)
        assert "incident membership, which I cannot check" in text
        # ... and the incidents area's answer is what counts when it can tell.
        can_tell = True
        text = await refused(h, "bob", "/fleet restart redis-sessions", count=3)
        assert "people in the incident" in text
        await nothing_ran(h)
