"""The Slack side of the endpoint property tests: the bot under test with its error log
watched, well-formed requests as Slack sends them, and strategies that make them hostile."""

from __future__ import annotations

import itertools
import json
import logging
import time
from typing import Any
from urllib.parse import parse_qsl, quote_from_bytes, urlencode

import httpx
from hypothesis import strategies as st

from integrations.slack.sender import SlackSender
from tests.conftest import base_config
from tests.fuzz_support import Rig, header_text, json_values, mutated
from tests.harness import CHANNEL, USERS

SIGNING_SECRET = base_config()["slack"]["signing_secret"]
METRICS_TOKEN = "metrics-token-0123456789"
GOOD_BEARERS = [f"Bearer {METRICS_TOKEN}", f"bearer   {METRICS_TOKEN}  "]
LIMIT = 64 * 1024
# What Bolt logs when something raised in it before any ack (the asgi answers 400).
BOLT_REFUSAL = "Failed to run a middleware function"
ACK_WINDOW = 3.0  # Slack gives up on a request URL after 3 s
FORM = "application/x-www-form-urlencoded"
NATURAL_TYPE = {"command": FORM, "interaction": FORM, "event": "application/json", "bytes": FORM}
CONTENT_TYPES = [FORM, "application/json", "text/plain", "", "multipart/form-data; boundary=x"]
COMMANDS = ["/fleet", "/incident", "/oncall", "/audit", "/unknown"]
# Fixed, so that hypothesis draws the same from the same bases; see `as_new_delivery`.
BASE_TRIGGER = "1700000000.123456789.fuzzbase"
BASE_EVENT_ID = "Ev0FUZZBASE"
DELIVERIES = itertools.count(1)
ACTION_IDS = [
    "act-confirm:1",
    "act-cancel:1",
    "act-approve:999",
    "act-deny:x",
    "incident:ack:1",
    "incident:act:restart",
    "storm:resolve",
    "unknown:thing",
    "",
    ":",
]


class Errors(logging.Handler):
    """Every record at ERROR or above, from any logger (Bolt logs a crashed listener)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class SlackRig:
    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.errors = Errors()
        # Only its builders are used: the requests go through the rig's in-process client.
        self.sender = SlackSender(
            "http://wk.test/slack/events",
            SIGNING_SECRET,
            response_url_for=lambda channel, user: "https://hooks.slack.com/commands/T0/1/x",
        )

    def answer(
        self, method: str, path: str, *, within: float = ACK_WINDOW, **request: Any
    ) -> httpx.Response:
        started = time.monotonic()
        response = self.rig.request(method, path, **request)
        elapsed = time.monotonic() - started
        assert elapsed < within, (path, elapsed)
        return response

    def slack(self, body: bytes, headers: dict[str, Any]) -> httpx.Response:
        return self.answer("POST", "/slack/events", body=body, headers=headers)

    def signed(self, body: bytes, content_type: str | bytes, **extra: Any) -> httpx.Response:
        headers = {**self.sender.signed_headers(body, ""), "Content-Type": content_type}
        return self.slack(body, {**headers, **extra})

    def settle(self, refused: bool) -> None:
        """Wait for the work the last request started after its answer; it logged no error.
        A request refused with 400 may leave Bolt's own traceback of why (see bot.asgi)."""
        still = self.rig.run(self.rig.app.bot.runtime.in_flight.drain(10))
        assert still == 0, "a listener still runs 10 s after its request"
        problems = [
            f"{r.name}: {r.getMessage()}\n{_traceback(r)}"
            for r in self.errors.records
            if not (refused and r.getMessage().startswith(BOLT_REFUSAL))
        ]
        self.errors.records.clear()
        assert problems == []

    def still_healthy(self) -> None:
        assert self.answer("GET", "/healthz").json() == {"status": "ok"}
        challenge = {"type": "url_verification", "token": "t", "challenge": "still-here"}
        answer = self.signed(json.dumps(challenge).encode(), "application/json")
        assert answer.status_code == 200
        assert "still-here" in answer.text


def _traceback(record: logging.LogRecord) -> str:
    return logging.Formatter().formatException(record.exc_info) if record.exc_info else ""


def as_new_delivery(body: bytes) -> bytes:
    """`body` with the base's trigger and event ids made unique, so that Slack's dedupe
    does not skip the listener after the first example."""
    unique = next(DELIVERIES)
    body = body.replace(BASE_TRIGGER.encode(), f"{unique}.{BASE_TRIGGER}".encode())
    return body.replace(BASE_EVENT_ID.encode(), f"{BASE_EVENT_ID}{unique}".encode())


def check_answer(slack: SlackRig, response: httpx.Response, body: bytes) -> None:
    assert response.status_code < 500, (response.status_code, response.text, body[:300])
    slack.settle(refused=response.status_code == 400)
    slack.still_healthy()


# -- well-formed requests, the bases the strategies mutate --------------------------------


def command_form(
    sender: SlackSender, command: str = "/fleet", text: str = "help"
) -> dict[str, str]:
    body = sender.command_body(
        command, text, user_id=USERS["alice"], user_name="alice", channel_id=CHANNEL
    )
    return {**dict(parse_qsl(body.decode())), "trigger_id": BASE_TRIGGER}


def click_payload(sender: SlackSender, action_id: str = "act-confirm:1") -> dict[str, Any]:
    payload = sender.block_action_payload(
        user_id=USERS["bob"],
        user_name="bob",
        channel_id=CHANNEL,
        action={"action_id": action_id, "block_id": "b", "text": "Go", "value": "1"},
        message={"ts": "1700000000.000100", "text": "", "thread_ts": "1700000000.000100"},
        message_ts="1700000000.000100",
        ephemeral=False,
    )
    payload["actions"][0]["action_ts"] = "1700000000.000300"
    return {**payload, "trigger_id": BASE_TRIGGER}


def event_envelope(event: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "token": "t",
        "team_id": "T0WATCH01",
        "api_app_id": "A0WATCH01",
        "type": "event_callback",
        "event_id": BASE_EVENT_ID,
        "event_time": 1700000000,
        "event": event
        or {
            "type": "app_mention",
            "user": USERS["alice"],
            "text": "<@U0BOT0001> help",
            "ts": "1700000000.000200",
            "thread_ts": "1700000000.000100",
            "channel": CHANNEL,
        },
    }


# -- strategies --------------------------------------------------------------------------

hostile_text = (
    st.text(max_size=300)
    | st.text(st.characters(codec="utf-8"), max_size=80)
    | st.text(st.characters(max_codepoint=0x1F), max_size=50)
    | st.builds(lambda c, n: c * n, st.sampled_from("x€\u202e\x00<&"), st.integers(0, 3 * LIMIT))
)
retry_headers = st.fixed_dictionaries(
    {},
    optional={
        "X-Slack-Retry-Num": st.sampled_from(["1", "2", "-1", "x", "99999999999999999999"]),
        "X-Slack-Retry-Reason": st.sampled_from(["http_timeout", "http_error", ""]),
    },
)
content_types = st.sampled_from(CONTENT_TYPES) | header_text


@st.composite
def slash_commands(draw: st.DrawFn, sender: SlackSender) -> bytes:
    form: dict[str, Any] = command_form(
        sender, draw(st.sampled_from(COMMANDS) | st.text(max_size=20)), draw(hostile_text)
    )
    fields = sorted(form)
    for name in draw(st.lists(st.sampled_from(fields), max_size=3, unique=True)):
        del form[name]
    form.update(draw(st.dictionaries(st.sampled_from(fields), hostile_text, max_size=3)))
    return urlencode(form).encode()


@st.composite
def interactions(draw: st.DrawFn, sender: SlackSender) -> bytes:
    base = click_payload(sender, draw(st.sampled_from(ACTION_IDS) | st.text(max_size=30)))
    return b"payload=" + quote_from_bytes(draw(mutated(base))).encode()


@st.composite
def events(draw: st.DrawFn) -> bytes:
    event = draw(
        st.sampled_from(["app_mention", "message", "reaction_added", "", "unknown"]).map(
            lambda kind: {**event_envelope()["event"], "type": kind}
        )
        | st.dictionaries(st.text(max_size=10), json_values, max_size=5)
    )
    base = draw(
        st.sampled_from(
            [
                event_envelope(event),
                {"type": "url_verification", "token": "t", "challenge": "abc"},
                {"type": "app_rate_limited", "minute_rate_limited": 1, "team_id": "T0"},
            ]
        )
    )
    return draw(mutated(base))


def payload_form(doc: dict[str, Any]) -> bytes:
    """An interaction as Slack posts it: the JSON in a `payload` form field."""
    return urlencode({"payload": json.dumps(doc)}).encode()
