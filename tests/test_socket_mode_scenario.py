"""An incident worked entirely over Socket Mode, through the real Bolt app and its aiohttp
Socket Mode client against the stand-in's WebSocket: a page arrives on the HTTP hook, bob
acknowledges by button and silences it from a modal (a bad duration first: the field
error comes back in the ack's payload), alice asks for a switchover by `/fleet` and
confirms it, bob approves it while Slack drops the socket (and then loses his click's ack
with a second one), and alice resolves by @mention after Slack asked for a fresh
connection. Every envelope is answered, and each action ran exactly once: the audit log
and the fleet's own operation log say so."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import httpx
from sqlalchemy import select

from bot.audit import vocabulary as v
from bot.db.models import SlackRequest
from standins.slack.socket_mode import SocketModeHub
from tests.actions_support import (
    PERMISSIONS,
    ROLES,
    audit_rows,
    card,
    fleet_operations,
    in_thread,
    only_request,
    policies,
    text_of,
)
from tests.harness import CHANNEL, USERS, BotHarness, find_button
from tests.incident_helpers import block_text, roots
from tests.intake_helpers import AM_TOKEN, PAYLOADS, intake_section

SOCKET_SLACK = {
    "mode": "socket",
    "signing_secret": "test-signing-secret",
    "bot_token": "xoxb-test",
    "app_token": "xapp-1-A0WATCH01-test",
}


def socket_harness(db_url: str) -> BotHarness:
    return BotHarness(
        db_url,
        slack=SOCKET_SLACK,
        intake=intake_section(),
        roles=ROLES,
        policies=policies(),
        permissions=PERMISSIONS,
    )


async def page(h: BotHarness) -> None:
    captured: dict[str, Any] = json.loads(
        (PAYLOADS / "alertmanager-0.25-firing-group.json").read_text()
    )
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            h.url + "/hooks/alertmanager",
            json=captured["body"],
            headers={"Authorization": f"Bearer {AM_TOKEN}"},
        )
    assert answer.status_code == 200, answer.text


def attempts(hub: SocketModeHub) -> Counter[str]:
    return Counter(s.envelope_id for s in hub.sent)


async def test_an_incident_worked_over_socket_mode_through_a_dropped_socket(db_url: str) -> None:
    async with socket_harness(db_url) as h:
        hub = h.state.socket_mode
        # The page comes in over HTTP, as monitoring's always does.
        await page(h)
        root = (await h.wait_for(lambda: roots(h.state)))[0]
        assert "PostgresReplicationLag" in root.text

        # bob acknowledges by button: an `interactive` envelope.
        ack_click = await h.click(
            "bob", find_button(root.blocks, "Acknowledge"), message_ts=root.ts
        )
        assert ack_click.status_code == 200
        assert "You acknowledged incident #1" in (await h.wait_for_response("bob")).text

        # bob silences it from a modal; its field error travels back in the ack's payload.
        await h.click("bob", find_button(root.blocks, "Silence…"), message_ts=root.ts)
        modal = await h.wait_for_modal("bob")
        refused = await h.submit("bob", modal, duration="forever")
        assert refused.json()["response_action"] == "errors"
        assert "duration" in refused.json()["errors"]
        assert (await h.submit("bob", modal, duration="3h")).text in ("", "null")
        await in_thread(h, root, "silenced")

        # alice asks for a switchover: a `slash_commands` envelope; then confirms.
        await h.command("alice", "/fleet switchover pg-orders -- replica is behind")
        preview = await h.wait_for_response("alice")
        assert "Preview: switchover pg-orders" in text_of(preview)
        await h.click("alice", find_button(preview.blocks, "Confirm"), ephemeral=True)
        approval = await card(h, "Approval needed: switchover pg-orders")
        assert await fleet_operations(h) == []

        # Mid-incident Slack drops the socket; the bot connects again by itself. bob's
        # Approve then goes out on the new connection, which is cut right after it, so
        # his click reaches the bot but its ack is lost and Slack sends it once more.
        assert await hub.drop() == 1
        hub.cut_after_next_envelope()
        approve = await h.click(
            "bob", find_button(approval.blocks, "Approve"), message_ts=approval.ts
        )
        assert approve.status_code == 200
        result = await in_thread(h, approval, "post-check")
        assert "succeeded" in result.text

        # Slack asks for a fresh connection; alice resolves by @mention (`events_api`).
        assert await hub.disconnect("refresh_requested") == 1
        await h.mention("alice", "resolve", thread_ts=root.ts)
        await h.wait_for(lambda: "Resolved by <@UALICE01>" in block_text(root.blocks))
        await h.quiet()

        # Every envelope was answered; the lost ack's envelope was sent twice, the rest once.
        assert [(d.type, d.acked) for d in hub.deliveries] == [
            ("interactive", True),
            ("interactive", True),  # Silence…, then the modal's two submissions
            ("interactive", True),
            ("interactive", True),
            ("slash_commands", True),
            ("interactive", True),
            ("interactive", True),
            ("events_api", True),
        ]
        approve_envelope = hub.deliveries[6].envelope_id
        assert attempts(hub) == {d.envelope_id: 1 for d in hub.deliveries} | {approve_envelope: 2}
        assert [s.retry_attempt for s in hub.sent if s.envelope_id == approve_envelope] == [0, 1]
        assert hub.opened >= 4  # the first, after the drop, after the cut, after the refresh

        # Each action ran once: one switchover on the fleet, each audit step once.
        ops = await fleet_operations(h, "pg-orders")
        assert [(op["action"], op["actor"]) for op in ops] == [("switchover", USERS["alice"])]
        row = await only_request(h)
        assert (row.state, row.operation_id) == ("succeeded", ops[0]["id"])
        steps = [(r.action, r.outcome, r.actor) for r in await audit_rows(h, row.id)]
        assert steps == [
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
        rows = await audit_rows(h)
        invoked = [
            (r.actor, r.target, json.loads(r.params).get("surface"))
            for r in rows
            if r.action == v.COMMAND_INVOKED
        ]
        bob, alice = USERS["bob"], USERS["alice"]
        assert invoked == [
            (bob, "incident.ack", "channel"),
            (bob, "incident.silence", "channel"),  # the button that opened the modal
            (bob, "incident.silence", "modal"),  # its good submission; the bad one was not
            (alice, "fleet.switchover", "channel"),
            (alice, "fleet.confirm", "channel"),
            (bob, "fleet.decide", "channel"),
            (alice, "incident.resolve", "channel"),
        ]
        assert [r.actor for r in rows if r.action == v.INCIDENT_ACKNOWLEDGED] == [USERS["bob"]]
        assert [r.actor for r in rows if r.action == v.INCIDENT_RESOLVED] == [USERS["alice"]]
        assert [r.actor for r in rows if r.action == v.SILENCE_CREATED] == [USERS["bob"]]
        # The bot recorded each delivery once, the resent one recognised by its trigger id;
        # the refused submission was answered in its ack and not recorded.
        async with h.bot.runtime.sessions() as session:
            keys = list(await session.scalars(select(SlackRequest.key)))
        assert len(keys) == len(set(keys)) == len(hub.deliveries) - 1
        assert len(roots(h.state, CHANNEL)) == 2  # the incident and the approval card
