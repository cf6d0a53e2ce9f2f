"""In Socket Mode Slack's requests arrive over the socket: the HTTP listener serves health,
metrics and the configured hooks, and `/slack/events` does not exist there; the same
command over the socket is answered."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Any

import httpx

from bot import messages
from integrations.slack.sender import TEAM_ID, SlackSender
from tests.harness import USERS, BotHarness
from tests.intake_helpers import AM_TOKEN, bearer, captured, intake_section

SOCKET_SLACK = {
    "mode": "socket",
    "signing_secret": "test-signing-secret",
    "bot_token": "xoxb-test",
    "app_token": "xapp-test",
}


async def test_socket_mode_has_no_http_request_url(db_url: str) -> None:
    async with BotHarness(db_url, slack=SOCKET_SLACK, intake=intake_section()) as h:
        # A correctly signed command: refused for its path, not its signature.
        over_http = SlackSender(h.url + "/slack/events", SOCKET_SLACK["signing_secret"])
        try:
            answer = await over_http.command(
                "/fleet", "status pg-orders",
                user_id=USERS["alice"], user_name="alice", channel_id="C0DEMO001",
            )  # fmt: skip
        finally:
            await over_http.aclose()
        assert answer.status_code == 404
        await h.quiet()
        assert h.state.responses() == []
        # The same command as a Socket Mode envelope is answered.
        assert (await h.command("alice", "/fleet status pg-orders")).status_code == 200
        assert (await h.wait_for_response("alice")).text.startswith("pg-orders: ")

        async with httpx.AsyncClient(base_url=h.url) as client:
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/readyz")).status_code in (200, 503)
            assert (await client.get("/metrics")).status_code == 200
            _, message = captured("firing-group")
            hook = await client.post(
                "/hooks/alertmanager", content=json.dumps(message), headers=bearer(AM_TOKEN)
            )
            assert hook.status_code == 200, hook.text


async def test_http_mode_serves_the_request_url(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        answer = await h.command("alice", "/fleet status pg-orders")
        assert answer.status_code == 200
        assert (await h.wait_for_response("alice")).text.startswith("pg-orders: ")


async def test_every_envelope_is_acked_even_one_no_listener_takes(db_url: str) -> None:
    async with BotHarness(db_url, slack={**SOCKET_SLACK, "team_id": TEAM_ID}) as h:
        hub = h.state.socket_mode
        # Bolt answers 404 for an event nobody listens to: still acked, so never resent.
        unheard = await h.sender.event({"type": "reaction_added", "user": USERS["bob"]})
        assert unheard.status_code == 200
        # A command from another workspace is refused in the ack's payload, shown to its user.
        form = h.sender.command_form(
            "/fleet", "status pg-orders",
            user_id=USERS["alice"], user_name="alice", channel_id="C0DEMO001",
        )  # fmt: skip
        foreign = await hub.deliver("slash_commands", {**form, "team_id": "T0OTHER99"})
        assert foreign.acked and foreign.payload == {"text": messages.FOREIGN_WORKSPACE}
        await h.quiet()
        assert h.state.responses() == []
        assert [(d.type, d.acked, d.attempts) for d in hub.deliveries] == [
            ("events_api", True, 1),
            ("slash_commands", True, 1),
        ]


async def test_status_shows_whether_the_socket_to_slack_is_open(db_url: str) -> None:
    async with BotHarness(db_url, slack=SOCKET_SLACK) as h, httpx.AsyncClient() as client:

        async def socket_state() -> dict[str, Any]:
            body = (await client.get(h.url + "/status")).json()
            state: dict[str, Any] = body["reachability"]["slack_socket"]
            state["problems"] = [p["problem"] for p in body["problems"]]
            return state

        up = await h.eventually(lambda: _when(socket_state(), reachable=True))
        assert "unreachable:slack_socket" not in up["problems"]
        # Slack drops the socket and will not hand out a new URL: the bot cannot reconnect.
        h.state.set_fault("error_5xx", methods=["apps.connections.open"])
        await h.state.socket_mode.drop()
        down = await h.eventually(lambda: _when(socket_state(), reachable=False))
        assert down["last_failure"] == "no open Socket Mode connection to Slack"
        assert "unreachable:slack_socket" in down["problems"]


async def _when(state: Awaitable[dict[str, Any]], **wanted: object) -> dict[str, Any] | None:
    found = await state
    return found if all(found.get(k) == v for k, v in wanted.items()) else None


async def test_an_envelope_bolt_cannot_read_is_acked_and_changes_nothing(db_url: str) -> None:
    async with BotHarness(db_url, slack=SOCKET_SLACK) as h:
        hub = h.state.socket_mode
        unreadable = [
            {"type": "block_actions", "team": 5, "actions": []},
            {"type": "block_actions", "actions": [{"action_id": {}}], "user": "x"},
            {"command": "/fleet", "text": ["status"], "team_id": 7},
        ]
        for payload in unreadable:
            kind = "slash_commands" if "command" in payload else "interactive"
            delivery = await hub.deliver(kind, payload)
            assert (delivery.acked, delivery.attempts) == (True, 1), payload
        await h.quiet()
        assert h.state.responses() == [] and h.state.events() == []
