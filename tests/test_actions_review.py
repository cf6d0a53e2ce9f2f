"""Break-glass run by one person alone: the second on-call is asked to review it in the
thread, the handoff lists it under "Needs review" until someone else clicks Reviewed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.actions.second_person import next_in_turn, on_call_for_channel
from bot.config import parse_config
from bot.oncall.roster import ConfiguredRoster
from tests.actions_support import (
    ROLES,
    audit_rows,
    card,
    in_thread,
    policies,
    requests,
    text_of,
)
from tests.conftest import base_config, shipped_permissions
from tests.harness import CHANNEL, USERS, BotHarness, find_button

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
# alice (who runs the break-glass) is on call now and for the days after by an override,
# so "whoever is on call" is the actor herself and the second is dave, next in turn.
ROTATION: dict[str, Any] = {
    "name": "databases",
    "channel": "C0ONCALL1",
    "members": [USERS["alice"], USERS["dave"]],
    "handoffs": ["09:00", "21:00"],
    "overrides": [
        {"user": USERS["alice"], "start": "2026-01-01T00:00:00Z", "end": "2099-01-01T00:00:00Z"}
    ],
}


def bot(db_url: str, rotation: dict[str, Any] = ROTATION, **sections: Any) -> BotHarness:
    """The shipped permission profile: fleet verbs, `fleet.review` included, are for
    responders (alice, bob, dave); carol is an auditor only."""
    return BotHarness(
        db_url,
        roles=ROLES,
        policies=policies(),
        permissions=shipped_permissions(),
        oncall={"rotations": [rotation]},
        **sections,
    )


async def break_glass_failover(h: BotHarness) -> Any:
    """alice fails pg-orders over with break-glass; the card once it is running."""
    await h.command("alice", "/fleet break-glass failover pg-orders -- primary hung")
    preview = await h.wait_for_response("alice")
    await h.click("alice", find_button(preview.blocks, "Confirm"), ephemeral=True)
    return await card(h, "BREAK-GLASS failover pg-orders")


async def answer(h: BotHarness, user: str, contains: str) -> str:
    """The text of a reply to `user` that contains `contains`, once it came."""

    def probe() -> str | None:
        posts = [text_of(r) for r in h.state.responses() if r.user == USERS[user]]
        return next((p for p in posts if contains in p), None)

    return await h.wait_for(probe)


async def handoff_text(h: BotHarness, user: str) -> str:
    """The handoff so far, as `/oncall handoff` shows it (the newest reply to `user`)."""
    before = len([r for r in h.state.responses() if r.user == USERS[user]])
    await h.command(user, "/oncall handoff")
    return text_of(await h.wait_for_response(user, count=before + 1))


async def test_a_lone_break_glass_asks_the_second_on_call_and_waits_for_review(
    db_url: str,
) -> None:
    async with bot(db_url) as h:
        running = await break_glass_failover(h)
        follow_up = await in_thread(h, running, "Needs review")
        # A live mention of the second on-call, built by the bot, in the request's thread.
        assert f"<@{USERS['dave']}>, please review" in follow_up.text
        assert f"<@{USERS['alice']}> ran `failover` on `pg-orders`" in follow_up.text
        assert "primary hung" in follow_up.text
        (row,) = await requests(h)
        assert row.review_asked_at is not None and row.reviewed_at is None
        await in_thread(h, running, "post-check")
        listed = await handoff_text(h, "bob")
        assert "*Needs review (1)*" in listed and row.id in listed

        reviewed = find_button(follow_up.blocks, "Reviewed")
        assert reviewed["value"] == row.id
        # The actor cannot review their own action.
        await h.click("alice", reviewed, message_ts=follow_up.ts)
        await answer(h, "alice", "You ran this break-glass action yourself")
        # Someone without `fleet.review` is stopped by the permission step.
        await h.click("carol", reviewed, message_ts=follow_up.ts)
        await answer(h, "carol", "fleet.review")
        assert "*Needs review (1)*" in await handoff_text(h, "bob")

        await h.click("bob", reviewed, message_ts=follow_up.ts)
        await answer(h, "bob", "you reviewed `failover` on `pg-orders`")
        (row,) = await requests(h)
        assert (row.reviewed_by, row.reviewed_by_name) == (USERS["bob"], "bob")
        rows = [
            (r.action, r.outcome, r.actor)
            for r in await audit_rows(h, row.id)
            if r.action == "action.reviewed"
        ]
        assert rows == [
            ("action.reviewed", "denied", USERS["alice"]),
            ("action.reviewed", "reviewed", USERS["bob"]),
        ]
        assert "Needs review" not in await handoff_text(h, "bob")
        # The follow-up now says who reviewed it, and its button is gone.
        await h.wait_for(
            lambda: "Reviewed by" in text_of(h.state.find_message(CHANNEL, follow_up.ts))
        )
        edited = h.state.find_message(CHANNEL, follow_up.ts)
        assert f"Reviewed by <@{USERS['bob']}>" in edited.text
        assert '"button"' not in json.dumps(edited.blocks)
        # A second click changes nothing.
        await h.click("dave", reviewed, message_ts=follow_up.ts)
        await answer(h, "dave", f"Already reviewed by <@{USERS['bob']}>")


async def test_an_action_another_person_approved_needs_no_review(db_url: str) -> None:
    async with bot(db_url) as h:
        await h.command("alice", "/fleet switchover pg-orders -- replica is behind")
        preview = await h.wait_for_response("alice")
        await h.click("alice", find_button(preview.blocks, "Confirm"), ephemeral=True)
        approval = await card(h, "Approval needed: switchover pg-orders")
        await h.click("bob", find_button(approval.blocks, "Approve"), message_ts=approval.ts)
        await in_thread(h, approval, "post-check")
        await h.quiet()
        assert not [m for m in h.state.messages(CHANNEL) if "Needs review" in text_of(m)]
        (row,) = await requests(h)
        assert row.state == "succeeded" and row.review_asked_at is None
        assert "Needs review" not in await handoff_text(h, "alice")


async def test_with_nobody_else_on_call_the_follow_up_says_so(db_url: str) -> None:
    alone = {**ROTATION, "members": [USERS["alice"]]}
    async with bot(db_url, alone) as h:
        running = await break_glass_failover(h)
        follow_up = await in_thread(h, running, "Needs review")
        assert "No second on-call could be found" in follow_up.text
        assert "Reviewed" in json.dumps(follow_up.blocks)


def config_with(**sections: Any) -> Any:
    return parse_config(base_config(**sections), {})


def test_the_second_person_is_whoever_else_is_on_call_or_next_in_turn() -> None:
    no_override = {k: v for k, v in ROTATION.items() if k != "overrides"}
    config = config_with(oncall={"rotations": [no_override]})
    rotation, fallback = on_call_for_channel(config, CHANNEL)
    assert rotation is not None and fallback == []
    roster = ConfiguredRoster(rotation, [])
    on_call = roster.on_call(NOW)
    other = USERS["dave"] if on_call == USERS["alice"] else USERS["alice"]
    assert next_in_turn(roster, USERS["erin"], NOW) == on_call  # not on the rotation
    assert next_in_turn(roster, on_call, NOW) == other  # the actor is on call: the next
    overridden = ConfiguredRoster(rotation, [(USERS["bob"], NOW, NOW + timedelta(days=9))])
    assert next_in_turn(overridden, USERS["alice"], NOW) == USERS["bob"]
    solo = ConfiguredRoster(
        config_with(
            oncall={"rotations": [{**no_override, "members": [USERS["alice"]]}]}
        ).oncall.rotations[0],
        [],
    )
    assert next_in_turn(solo, USERS["alice"], NOW) is None


def test_the_rotation_and_fallback_come_from_the_route_of_the_channel() -> None:
    rotations = [
        {**ROTATION, "name": "web", "channel": "C0WEB0001"},
        {**ROTATION, "name": "databases"},
    ]
    routes = [
        {"name": "web", "channel": "C0WEB0001", "mention": ["S0WEB0001"]},
        {"name": "db", "channel": CHANNEL, "oncall": "databases", "mention": ["S0DBA0001"]},
    ]
    config = config_with(oncall={"rotations": rotations}, routing={"routes": routes})
    rotation, fallback = on_call_for_channel(config, CHANNEL)
    assert rotation is not None and rotation.name == "databases" and fallback == ["S0DBA0001"]
    # A route with no rotation: the rotation whose handoffs go there, the route's mentions.
    rotation, fallback = on_call_for_channel(config, "C0WEB0001")
    assert rotation is not None and rotation.name == "web" and fallback == ["S0WEB0001"]
    assert on_call_for_channel(config, "C0ELSE001") == (None, [])
