"""Requests at Slack's request URL as Slack sends them, signed or forged, for the three
Slack surfaces of the suite (commands, interactivity, events)."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from hypothesis import strategies as st

from integrations.slack.signing import sign
from tests.harness import CHANNEL, USERS
from tests.hostile.checks import marked_text
from tests.hostile.deliveries import SOURCES, dump, fresh_key
from tests.hostile.rig import HostileRig

FORM = "application/x-www-form-urlencoded"
ROLELESS = ("dave", "erin")  # no role at all (tests.conftest.base_config)
RESPONDERS = ("alice", "bob")
FORGERIES = [
    "unsigned",
    "wrong-secret",
    "stale",
    "future",
    "signed-another-body",
    "wrong-version",
    "timestamp-not-a-number",
    "signature-only",
]
# What a user name in a payload can be: Slack's are short and tame, a forger's are not.
user_names = st.sampled_from(["dave", "erin"]) | marked_text | st.text(max_size=40)


def signed(rig: HostileRig, body: bytes, content_type: str = FORM) -> httpx.Response:
    return rig.post("/slack/events", body, rig.h.sender.signed_headers(body, content_type))


def forged(rig: HostileRig, how: str, body: bytes, content_type: str = FORM) -> httpx.Response:
    """`body` with a signature Slack's signing secret did not make for it, now."""
    secret = rig.h.config.slack.signing_secret.get_secret_value()
    now = int(time.time())
    stamp = str(now + {"stale": -400, "future": 400}.get(how, 0))  # Slack allows 300 s
    signature = sign(secret + "x" if how == "wrong-secret" else secret, stamp, body)
    headers: dict[str, str] = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
    }
    if how == "unsigned":
        headers = {"Content-Type": content_type}
    elif how == "signed-another-body":
        headers["X-Slack-Signature"] = sign(secret, stamp, body + b"&x=1")
    elif how == "wrong-version":
        headers["X-Slack-Signature"] = "v1=" + signature.removeprefix("v0=")
    elif how == "timestamp-not-a-number":
        headers["X-Slack-Request-Timestamp"] = f"{stamp}.5e3"
    elif how == "signature-only":
        del headers["X-Slack-Request-Timestamp"]
    return rig.post("/slack/events", body, headers)


def command_body(rig: HostileRig, user: str, command: str, text: str, name: str) -> bytes:
    return rig.h.sender.command_body(
        command, text, user_id=USERS[user], user_name=name, channel_id=CHANNEL
    )


def click_payload(
    rig: HostileRig, user: str, name: str, action_id: str, value: str, thread_ts: str | None
) -> dict[str, Any]:
    payload = rig.h.sender.block_action_payload(
        user_id=USERS[user],
        user_name=name,
        channel_id=CHANNEL,
        action={"action_id": action_id, "block_id": "b", "text": "Go", "value": value},
        message={"ts": thread_ts, "text": "", "thread_ts": thread_ts} if thread_ts else {},
        message_ts=thread_ts,
        ephemeral=False,
    )
    return payload


def view_submission(user: str, name: str, values: Any, callback_id: str) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "team": {"id": "T0WATCH01", "domain": "watchkeeper-demo"},
        "user": {"id": USERS[user], "username": name, "name": name, "team_id": "T0WATCH01"},
        "api_app_id": "A0WATCH01",
        "token": "deprecated-verification-token",
        "trigger_id": f"{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:16]}",
        "view": {
            "id": "V0HOSTILE",
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": name,
            "state": {"values": values},
        },
    }


def form(payload: Any) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def event_body(event: Any, *, kind: str = "event_callback") -> bytes:
    return json.dumps(
        {
            "token": "deprecated-verification-token",
            "team_id": "T0WATCH01",
            "api_app_id": "A0WATCH01",
            "type": kind,
            "event_id": f"Ev{uuid.uuid4().hex[:12].upper()}",
            "event_time": int(time.time()),
            "event": event,
        }
    ).encode()


@dataclass(frozen=True)
class Targets:
    """What hostile clicks and commands can name: real incidents, their threads and a
    guarded action request waiting for its requester's Confirm."""

    incidents: list[int]
    threads: list[str]
    requests: list[str]
    services: list[str]


def prepare_targets(rig: HostileRig) -> Targets:
    body = dump(SOURCES["alertmanager"].base(fresh_key()))
    answer = rig.post("/hooks/alertmanager", body, SOURCES["alertmanager"].credentials(body))
    assert answer.status_code == 200, answer.text
    assert signed(
        rig, command_body(rig, "alice", "/fleet", "restart pg-orders", "alice")
    ).is_success
    rig.quiet()
    incidents = rig.ids("incidents")
    requests = rig.ids("action_requests")
    assert incidents and requests, (incidents, requests)
    threads = [m.ts for m in rig.h.state.messages(CHANNEL) if m.thread_ts is None]
    return Targets(incidents, threads, [str(r) for r in requests], ["pg-orders", "pg-billing"])
