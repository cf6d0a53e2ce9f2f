"""Slack's side of the app's request URL: signed slash commands, clicks and events.

The demo console and the tests use it to talk to the bot exactly as Slack would:
form-encoded slash commands, `payload=` interactions and JSON event callbacks, each signed
with the app's signing secret. With `socket=`, the same payloads go as Socket Mode
envelopes instead (`slash_commands`, `interactive`, `events_api`), handed to Slack's side
of the app's WebSocket (the local stand-in's `through_socket`).
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import httpx

from integrations.slack.signing import sign

# The local stand-in workspace's id, in every request sent from here; the demo profile's
# `slack.team_id`.
TEAM_ID = "T0WATCH01"

# Socket Mode: (envelope type, payload) -> what the app acked, answered as the request URL
# would answer (200 and the ack's payload as body).
SocketDelivery = Callable[[str, dict[str, Any]], Awaitable[httpx.Response]]


class SlackSender:
    def __init__(
        self,
        events_url: str,
        signing_secret: str,
        *,
        response_url_for: Callable[[str, str], str] | None = None,
        trigger_for: Callable[[str], str] | None = None,
        now: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        socket: SocketDelivery | None = None,
    ) -> None:
        self._url = events_url
        self._socket = socket
        self._secret = signing_secret
        self._response_url_for = response_url_for
        # Slack mints a trigger_id per interaction; a stand-in that checks them mints ours.
        self._trigger_for = trigger_for
        self._now = now
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport)
        self._ids = itertools.count(1)

    def signed_headers(self, body: bytes, content_type: str) -> dict[str, str]:
        timestamp = str(int(self._now()))
        return {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": sign(self._secret, timestamp, body),
        }

    def trigger_id(self, user_id: str) -> str:
        """A new trigger_id for an interaction of `user_id`, shaped as Slack's."""
        if self._trigger_for is not None:
            return self._trigger_for(user_id)
        return f"{next(self._ids)}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:16]}"

    def command_body(
        self, command: str, text: str, *, user_id: str, user_name: str, channel_id: str
    ) -> bytes:
        form = self.command_form(
            command, text, user_id=user_id, user_name=user_name, channel_id=channel_id
        )
        return urlencode(form).encode()

    def command_form(
        self, command: str, text: str, *, user_id: str, user_name: str, channel_id: str
    ) -> dict[str, str]:
        """A slash command's fields: the form of its request, the payload of its envelope."""
        trigger = self.trigger_id(user_id)
        response_url = self._response_url_for(channel_id, user_id) if self._response_url_for else ""
        return {
            "token": "deprecated-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "watchkeeper-demo",
            "channel_id": channel_id,
            "channel_name": "ops",
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": "A0WATCH01",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger,
        }

    def action_body(self, payload: dict[str, Any]) -> bytes:
        return urlencode({"payload": json.dumps(payload)}).encode()

    async def send(self, body: bytes, content_type: str, **extra_headers: str) -> httpx.Response:
        headers = {**self.signed_headers(body, content_type), **extra_headers}
        return await self._http.post(self._url, content=body, headers=headers)

    async def command(
        self, command: str, text: str, *, user_id: str, user_name: str, channel_id: str
    ) -> httpx.Response:
        form = self.command_form(
            command, text, user_id=user_id, user_name=user_name, channel_id=channel_id
        )
        if self._socket is not None:
            return await self._socket("slash_commands", form)
        return await self.send(urlencode(form).encode(), "application/x-www-form-urlencoded")

    async def interaction(self, payload: dict[str, Any]) -> httpx.Response:
        if self._socket is not None:
            return await self._socket("interactive", payload)
        return await self.send(self.action_body(payload), "application/x-www-form-urlencoded")

    def block_action_payload(
        self,
        *,
        user_id: str,
        user_name: str,
        channel_id: str,
        action: dict[str, Any],
        message: dict[str, Any],
        message_ts: str | None,
        ephemeral: bool,
    ) -> dict[str, Any]:
        """A `block_actions` interaction, as Slack sends it when a button is clicked."""
        response_url = self._response_url_for(channel_id, user_id) if self._response_url_for else ""
        return {
            "type": "block_actions",
            "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": TEAM_ID},
            "api_app_id": "A0WATCH01",
            "token": "deprecated-verification-token",
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel_id,
                "is_ephemeral": ephemeral,
            },
            "trigger_id": self.trigger_id(user_id),
            "team": {"id": TEAM_ID, "domain": "watchkeeper-demo"},
            "channel": {"id": channel_id, "name": "ops"},
            "message": message,
            "response_url": response_url,
            "actions": [{**action, "type": "button", "action_ts": f"{self._now():.6f}"}],
        }

    def view_action_payload(
        self, *, user_id: str, user_name: str, view: dict[str, Any], action: dict[str, Any]
    ) -> dict[str, Any]:
        """A `block_actions` interaction on a view (the Home tab, a modal): no channel, no
        response_url, as Slack sends it."""
        return {
            "type": "block_actions",
            "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": TEAM_ID},
            "api_app_id": "A0WATCH01",
            "token": "deprecated-verification-token",
            "container": {"type": "view", "view_id": view.get("id", "")},
            "trigger_id": self.trigger_id(user_id),
            "team": {"id": TEAM_ID, "domain": "watchkeeper-demo"},
            "view": view,
            "actions": [{**action, "type": "button", "action_ts": f"{self._now():.6f}"}],
        }

    def view_submission_payload(
        self, *, user_id: str, user_name: str, view: dict[str, Any], values: dict[str, Any]
    ) -> dict[str, Any]:
        """A `view_submission`: the modal as opened, with `state.values` as filled in."""
        return {
            "type": "view_submission",
            "team": {"id": TEAM_ID, "domain": "watchkeeper-demo"},
            "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": TEAM_ID},
            "api_app_id": "A0WATCH01",
            "token": "deprecated-verification-token",
            "trigger_id": self.trigger_id(user_id),
            "view": {**view, "state": {"values": values}},
            "response_urls": [],
        }

    def message_action_payload(
        self,
        *,
        user_id: str,
        user_name: str,
        channel_id: str,
        callback_id: str,
        message: dict[str, Any],
    ) -> dict[str, Any]:
        """A message shortcut chosen on `message` (its `ts`, `text`, `user`)."""
        response_url = self._response_url_for(channel_id, user_id) if self._response_url_for else ""
        return {
            "type": "message_action",
            "callback_id": callback_id,
            "trigger_id": self.trigger_id(user_id),
            "team": {"id": TEAM_ID, "domain": "watchkeeper-demo"},
            "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": TEAM_ID},
            "channel": {"id": channel_id, "name": "ops"},
            "message": {"type": "message", **message},
            "message_ts": message.get("ts"),
            "response_url": response_url,
            "action_ts": f"{self._now():.6f}",
        }

    async def event(self, event: dict[str, Any], *, event_id: str | None = None) -> httpx.Response:
        envelope = {
            "token": "deprecated-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": "A0WATCH01",
            "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(self._now()),
            "event": event,
        }
        if self._socket is not None:
            return await self._socket("events_api", envelope)
        return await self.send(json.dumps(envelope).encode(), "application/json")

    async def aclose(self) -> None:
        await self._http.aclose()


def state_values(view: dict[str, Any], answers: dict[str, str | list[str]]) -> dict[str, Any]:
    """`view.state.values` as Slack sends them: each input block's answer, else what it
    showed at first (its initial value or option), as a person who left it alone sends."""
    values: dict[str, Any] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element, block_id = block["element"], block["block_id"]
        kind, answer = element["type"], answers.get(block_id)
        if kind == "static_select":
            initial = (element.get("initial_option") or {}).get("value")
            chosen = answer if answer is not None else initial
            state = {"type": kind, "selected_option": None if chosen is None else {"value": chosen}}
        elif kind == "checkboxes":
            initial_options = [o["value"] for o in element.get("initial_options", [])]
            picked = answer if isinstance(answer, list) else initial_options
            state = {"type": kind, "selected_options": [{"value": v} for v in picked]}
        else:
            state = {
                "type": kind,
                "value": answer if answer is not None else element.get("initial_value"),
            }
        values[block_id] = {element["action_id"]: state}
    return values
