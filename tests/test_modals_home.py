"""Modals, the App Home and the message shortcut, through signed requests, as transcripts.

A switchover is picked in a modal (its candidates are the fleet's healthy replicas), needs
approval, and the approver approves from the App Home; a silence with a bad duration is a
field error in the modal; a stranger's submission is refused by the permission step; the
message shortcut opens an incident linking the message.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.audit import vocabulary as v
from bot.incidents.ingest import ingest
from bot.incidents.models import Incident
from integrations.slack.errors import SlackApiError
from standins.slack import BOT_USER_ID, StandInState
from tests.actions_support import (
    PERMISSIONS,
    ROLES,
    card,
    fleet_service,
    in_thread,
    policies,
    text_of,
)
from tests.harness import CHANNEL, USERS, BotHarness, find_button
from tests.incident_helpers import audit_rows, batch, page, roots
from tests.test_demo_script import ROOT, demo_output

ROTATION = {
    "name": "databases",
    "channel": CHANNEL,
    "members": [USERS["alice"], USERS["bob"]],
    "handoffs": ["09:00"],
    "timezone": "UTC",
    "start": "2026-01-05",
}


def modal_harness(db_url: str) -> BotHarness:
    return BotHarness(
        db_url,
        roles=ROLES,
        policies=policies(),
        permissions=PERMISSIONS,
        suggested_actions={"PostgresReplicationLag": ["switchover"]},
        oncall={"rotations": [ROTATION]},
    )


async def incident_root(h: BotHarness) -> Any:
    await ingest(h.bot.runtime, batch(page("lag-1")))
    return await h.wait_for(lambda: next(iter(roots(h.state)), None))


def healthy_replicas(service: dict[str, Any]) -> set[str]:
    return {m["name"] for m in service["members"] if m["role"] == "replica" and m["healthy"]}


def options(view: Any, block_id: str) -> set[str]:
    block = next(b for b in view.view["blocks"] if b.get("block_id") == block_id)
    return {o["value"] for o in block["element"]["options"]}


async def invocations(h: BotHarness, surface: str) -> list[dict[str, Any]]:
    rows = await audit_rows(h.bot.runtime, v.COMMAND_INVOKED)
    found = [json.loads(r.params) for r in rows]
    return [p for p in found if p.get("surface") == surface]


async def test_switchover_picked_in_a_modal_is_approved_from_the_app_home(db_url: str) -> None:
    async with modal_harness(db_url) as h:
        root = await incident_root(h)
        # alice clicks the suggested Switchover: a modal opens instead of a request.
        await h.click("alice", find_button(root.blocks, "Switchover"), message_ts=root.ts)
        modal = await h.wait_for_modal("alice")
        assert modal.view["title"]["text"] == "Switchover"
        healthy = healthy_replicas(await fleet_service(h, "pg-orders"))
        assert healthy and options(modal, "candidate") == healthy
        candidate = sorted(healthy)[0]

        answer = await h.submit("alice", modal, candidate=candidate, reason="lag on the primary")
        assert answer.status_code == 200 and answer.text in ("", "null")
        # The same preview as `/fleet switchover`, for alice only, with Confirm.
        preview = await h.wait_for(
            lambda: next((e for e in h.state.ephemerals(USERS["alice"])
                          if "Preview: switchover pg-orders" in e.text), None)
        )  # fmt: skip
        await h.click("alice", find_button(preview.blocks, "Confirm"), ephemeral=True)
        # The card goes to the incident's thread, where the modal was opened from.
        approval = await in_thread(h, root, "Approval needed: switchover pg-orders")
        assert candidate in text_of(approval)

        # bob opens his App Home: the approval waits for him there, with Approve.
        await h.open_home("bob")
        home = await h.wait_for_home("bob", "Approvals waiting for me")
        approve = find_button(home.view["blocks"], "Approve")
        await h.click_in_view("bob", home, approve)
        result = await in_thread(h, root, "post-check")
        assert "succeeded" in result.text
        primary = next(
            m["name"] for m in (await fleet_service(h, "pg-orders"))["members"]
            if m["role"] == "primary"
        )  # fmt: skip
        assert primary == candidate
        # The permission step judged the modal and the Home click as such.
        assert [p["verb"] for p in await invocations(h, "modal")] == ["fleet.switchover"]
        assert [p["verb"] for p in await invocations(h, "app_home")] == ["fleet.decide"]


async def test_a_bad_duration_in_the_silence_modal_is_a_field_error(db_url: str) -> None:
    async with modal_harness(db_url) as h:
        root = await incident_root(h)
        await h.click("bob", find_button(root.blocks, "Silence…"), message_ts=root.ts)
        modal = await h.wait_for_modal("bob")

        answer = await h.submit("bob", modal, duration="forever")
        body = answer.json()
        assert body["response_action"] == "errors"
        assert "30m" in body["errors"]["duration"]
        await h.quiet()
        async with h.bot.runtime.sessions() as session:
            incident = await session.get(Incident, 1)
        assert incident is not None and incident.silenced_until is None

        again = await h.submit("bob", modal, duration="3h")
        assert again.text in ("", "null")
        await in_thread(h, root, "silenced")


async def test_a_strangers_modal_submission_is_refused_by_the_permission_step(
    db_url: str,
) -> None:
    async with modal_harness(db_url) as h:
        root = await incident_root(h)
        await h.click("alice", find_button(root.blocks, "Silence…"), message_ts=root.ts)
        modal = await h.wait_for_modal("alice")
        # carol is an auditor, not a responder: she sends the very same (sealed) view.
        await h.submit("carol", modal, duration="2h")
        refusal = await h.wait_for(lambda: next(iter(h.state.ephemerals(USERS["carol"])), None))
        assert "incident.silence" in refusal.text
        await h.quiet()
        (refused,) = await invocations(h, "modal")
        assert (refused["verb"], refused["allowed"]) == ("incident.silence", False)
        async with h.bot.runtime.sessions() as session:
            incident = await session.get(Incident, 1)
        assert incident is not None and incident.silenced_until is None


async def test_a_forged_private_metadata_changes_nothing(db_url: str) -> None:
    async with modal_harness(db_url) as h:
        root = await incident_root(h)
        await h.click("alice", find_button(root.blocks, "Silence…"), message_ts=root.ts)
        modal = await h.wait_for_modal("alice")
        forged = json.dumps({"incident": 1, "channel": CHANNEL})
        modal.view = {**modal.view, "private_metadata": forged}
        answer = await h.submit("alice", modal, duration="2h")
        assert answer.json()["response_action"] == "update"
        await h.quiet()
        assert await invocations(h, "modal") == []


async def test_the_standin_spends_a_trigger_once_and_only_within_three_seconds(
    db_url: str,
) -> None:
    clock = [100.0]
    state = StandInState(clock=lambda: clock[0])
    async with BotHarness(db_url, standin=state) as h:
        web = h.bot.runtime.slack_direct
        assert web is not None
        view = {"type": "modal", "title": {"type": "plain_text", "text": "T"}, "blocks": []}

        async def refusal(trigger: str) -> str:
            with pytest.raises(SlackApiError) as caught:
                await web.call("views.open", {"trigger_id": trigger, "view": view})
            return caught.value.error

        fresh = state.new_trigger_id(USERS["alice"])
        await web.call("views.open", {"trigger_id": fresh, "view": view})
        assert await refusal(fresh) == "exchanged_trigger_id"
        assert await refusal("1.2.forged") == "invalid_trigger_id"
        late = state.new_trigger_id(USERS["alice"])
        clock[0] += 3.5
        assert await refusal(late) == "expired_trigger_id"
        assert [v.trigger_id for v in state.views()] == [fresh]


async def test_the_message_shortcut_opens_an_incident_linking_the_message(db_url: str) -> None:
    async with modal_harness(db_url) as h:
        said = h.state.say(CHANNEL, USERS["carol"], "checkout is slow <!channel> <@UBOB0002>")
        message = {"ts": said.ts, "user": said.user, "text": said.text}
        await h.shortcut("alice", "incident_from_message", message)
        root = await h.wait_for(
            lambda: next((m for m in roots(h.state) if m.user == BOT_USER_ID), None)
        )
        assert "checkout is slow &lt;!channel&gt;" in root.text
        link = await in_thread(h, root, "this message")
        assert f"/archives/{CHANNEL}/p{said.ts.replace('.', '')}|this message>" in link.text
        (opened,) = await audit_rows(h.bot.runtime, v.INCIDENT_OPENED)
        assert json.loads(opened.params)["by"] == "message"
        (asked,) = await invocations(h, "shortcut")
        assert (asked["verb"], asked["allowed"]) == ("incident.open", True)


async def test_app_home_shows_on_call_my_incidents_and_my_approvals(db_url: str) -> None:
    async with modal_harness(db_url) as h:
        root = await incident_root(h)
        await h.click("bob", find_button(root.blocks, "Acknowledge"), message_ts=root.ts)
        await in_thread(h, root, "acknowledged")
        await h.command("alice", "/fleet switchover pg-orders -- lag")
        preview = await h.wait_for_response("alice")

        # bob's Home, opened before the approval was asked, is published again by itself.
        await h.open_home("bob")
        await h.wait_for_home("bob", "None waiting for you.")
        await h.click("alice", find_button(preview.blocks, "Confirm"), ephemeral=True)
        await card(h, "Approval needed: switchover pg-orders")
        home = await h.wait_for_home("bob", "switchover")
        shown = json.dumps(home.view)
        assert "*databases*: <@" in shown and " until " in shown
        assert "*#1*" in shown  # acknowledged by bob
        assert find_button(home.view["blocks"], "Approve")["value"]
        # alice asked for it: nothing waits for her own decision, and #1 is not hers.
        await h.open_home("alice")
        mine = await h.wait_for_home("alice", "None waiting for you.")
        assert "*#1*" not in json.dumps(mine.view)


def test_the_modals_demo_script_runs_clean(tmp_path: Path) -> None:
    out = demo_output(tmp_path, ROOT / "docs/demo/modals.txt")
    assert "modal 'Switchover' (only alice sees this)" in out
    assert "<candidate> Replica to promote (healthy replicas now): one of" in out
    assert "Home tab of bob" in out
    assert "! duration: Give the silence a length" in out
