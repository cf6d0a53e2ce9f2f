"""Acknowledge and resolve by button, by `/incident` and by @mention in the thread; notes,
owners, hand-opened incidents and the list. Each reads like the channel's transcript."""

from __future__ import annotations

import pytest

from bot.audit import vocabulary as v
from bot.incidents.ingest import ingest
from bot.incidents.install import open_incidents_section
from bot.incidents.membership import incident_member
from bot.runtime import MembershipQuestion
from standins.slack import Message
from tests.harness import USERS, BotHarness, find_button
from tests.incident_helpers import (
    audit_rows,
    batch,
    block_text,
    buttons,
    incidents,
    page,
    recorded,
    replies,
    roots,
    settle,
)


async def _incident_thread(h: BotHarness) -> Message:
    await ingest(h.bot.runtime, batch(page("fp-1")))
    await settle(h.bot.runtime)
    await recorded(h.bot.runtime, "incident:1")
    return roots(h.state)[0]


async def test_bob_acknowledges_by_button_then_alice_resolves_by_command(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        rt = h.bot.runtime
        root = await _incident_thread(h)
        # bob clicks Acknowledge on the root.
        await h.click("bob", find_button(root.blocks, "Acknowledge"), message_ts=root.ts)
        answer = await h.wait_for_response("bob")
        assert "You acknowledged incident #1" in answer.text
        await h.wait_for(lambda: "Acknowledged by <@UBOB0002>" in block_text(root.blocks))
        assert "Acknowledge" not in buttons(root.blocks)
        assert any("<@UBOB0002> acknowledged" in r.text for r in replies(h.state, root))
        # alice types `/incident resolve` in the channel: the one open incident is meant.
        await h.command("alice", "/incident resolve")
        answer = await h.wait_for_response("alice")
        assert "You resolved incident #1" in answer.text
        await h.wait_for(lambda: "Resolved by <@UALICE01>" in block_text(root.blocks))
        [incident] = await incidents(rt)
        assert (incident.acknowledged_by, incident.resolved_by) == (USERS["bob"], USERS["alice"])
        assert incident.acknowledged_at is not None and incident.resolved_at is not None
        [acked] = await audit_rows(rt, v.INCIDENT_ACKNOWLEDGED)
        [done] = await audit_rows(rt, v.INCIDENT_RESOLVED)
        assert (acked.actor, acked.ref, acked.target) == (USERS["bob"], "incident:1", "pg-orders")
        assert (done.actor, done.outcome) == (USERS["alice"], v.RESOLVED)


async def test_mentions_in_the_thread_act_on_its_incident(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        rt = h.bot.runtime
        root = await _incident_thread(h)
        # A second incident in the channel: only the thread says which one is meant.
        await ingest(rt, batch(page("other", alertname="PostgresDown")))
        await h.mention("alice", "ack", thread_ts=root.ts)
        await h.wait_for(lambda: "Acknowledged by <@UALICE01>" in block_text(root.blocks))
        await h.mention("alice", "note failing over to pg-orders-2", thread_ts=root.ts)
        await h.wait_for(
            lambda: any("failing over to pg-orders-2" in r.text for r in replies(h.state, root))
        )
        # Someone the configuration does not name is not assigned (nor pinged).
        await h.mention("alice", "assign <@UEVIL0001>", thread_ts=root.ts)
        await h.wait_for(
            lambda: any("I don't know" in e.text for e in h.state.ephemerals(USERS["alice"]))
        )
        await h.mention("alice", "assign <@UBOB0002>", thread_ts=root.ts)
        await h.wait_for(lambda: "Assignee" in block_text(root.blocks))
        await h.mention("bob", "resolve", thread_ts=root.ts)
        await h.wait_for(lambda: "Resolved by <@UBOB0002>" in block_text(root.blocks))
        first, second = await incidents(rt)
        assert (first.status, first.assignee, second.status) == (
            "resolved",
            "UBOB0002",
            "triggered",
        )
        [noted] = await audit_rows(rt, v.INCIDENT_NOTED)
        assert noted.params == '{"text":"failing over to pg-orders-2"}'
        # The answers to the mentions are private, in the thread.
        private = h.state.ephemerals(USERS["alice"])
        assert private and all(e.thread_ts == root.ts for e in private)


async def test_a_command_with_several_open_incidents_asks_which(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        await ingest(h.bot.runtime, batch(page("a"), page("b", alertname="PostgresDown")))
        await h.command("alice", "/incident ack")
        answer = await h.wait_for_response("alice")
        assert "Several incidents are open here" in answer.text
        await h.command("alice", "/incident ack #2")
        assert "You acknowledged incident #2" in (await h.wait_for_response("alice", 2)).text


async def test_an_incident_opened_by_hand_gets_a_thread_and_is_listed(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        await h.command("alice", "/incident new Checkout is slow for EU users")
        assert "Opened incident #1" in (await h.wait_for_response("alice")).text
        root = (await h.wait_for(lambda: roots(h.state)))[0]
        assert "Checkout is slow for EU users" in block_text(root.blocks)
        [opened] = await audit_rows(h.bot.runtime, v.INCIDENT_OPENED)
        assert opened.actor == USERS["alice"]
        await ingest(h.bot.runtime, batch(page("fp-1")))
        await h.command("alice", "/incident list")
        listed = await h.wait_for_response("alice", 2)
        assert "2 open incidents" in listed.text
        assert "#1" in block_text(listed.blocks) and "#2" in block_text(listed.blocks)


async def test_a_click_and_its_slack_retry_acknowledge_once(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        root = await _incident_thread(h)
        button = find_button(root.blocks, "Acknowledge")
        payload = h.sender.block_action_payload(
            user_id=USERS["bob"], user_name="bob", channel_id="C0DEMO001",
            action={"action_id": button["action_id"], "block_id": "b", "value": button["value"]},
            message={"ts": root.ts, "text": ""}, message_ts=root.ts, ephemeral=False,
        )  # fmt: skip
        for _ in range(2):
            await h.sender.send(h.sender.action_body(payload), "application/x-www-form-urlencoded")
        await h.wait_for_response("bob")
        await h.wait_for(lambda: "Acknowledged" in block_text(root.blocks))
        assert len(await audit_rows(h.bot.runtime, v.INCIDENT_ACKNOWLEDGED)) == 1


@pytest.mark.parametrize("value", ["1" + "0" * 30, "\u0661", "#1\n"])
async def test_an_incident_button_with_a_forged_id_is_stale_not_an_error(
    db_url: str, value: str
) -> None:
    # A 31-digit id once overflowed the id column inside the permission step (Bolt 404).
    async with BotHarness(db_url) as h:
        root = await _incident_thread(h)
        button = find_button(root.blocks, "Acknowledge")
        answer = await h.click("bob", {**button, "value": value}, message_ts=root.ts)
        assert answer.status_code == 200
        assert "no longer" in (await h.wait_for_response("bob")).text.lower()
        [incident] = await incidents(h.bot.runtime)
        assert incident.acknowledged_by is None


async def test_who_is_in_an_incident_for_guarded_actions(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        rt = h.bot.runtime
        root = await _incident_thread(h)

        def request(user: str, thread_ts: str | None) -> MembershipQuestion:
            return MembershipQuestion(
                user_id=USERS[user], channel_id="C0DEMO001", thread_ts=thread_ts,
                service="pg-orders",
            )  # fmt: skip

        assert not await incident_member(rt, request("bob", root.ts))
        await h.mention("bob", "ack", thread_ts=root.ts)
        await h.wait_for(lambda: "Acknowledged by <@UBOB0002>" in block_text(root.blocks))
        assert await incident_member(rt, request("bob", root.ts))
        assert await incident_member(rt, request("bob", None))  # by the target service
        assert not await incident_member(rt, request("carol", root.ts))


async def test_open_incidents_are_part_of_the_oncall_handoff(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        rt = h.bot.runtime
        assert open_incidents_section in rt.hooks.handoff_sections
        async with rt.sessions() as session:
            assert await open_incidents_section(session, rt.clock()) is None
        await ingest(rt, batch(page("fp-1")))
        async with rt.sessions() as session:
            found = await open_incidents_section(session, rt.clock())
        assert found is not None
        title, lines = found
        assert title == "Open incidents (1)"
        assert lines == ["#1 [CRITICAL] PostgresReplicationLag — pg-orders · triggered"]
