"""Property tests: hostile requests at Slack's request URL, /healthz, /readyz and /metrics,
through the bot's real ASGI app (Bolt included). Whatever comes in, signed or not:

- the answer is never 5xx (a 503 from /readyz only when the bot really is unready),
- it comes within Slack's 3 s ack window,
- the work a request starts after its answer logs no error (a listener that crashed
  would tell the user nothing),
- and the bot still answers a well-formed request afterwards.

The webhook endpoints have their own file (test_intake_properties.py).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from integrations.slack.signing import sign
from tests.fuzz_support import SETTINGS, header_text, hostile_headers, json_values, rig_running
from tests.intake_helpers import bearer, intake_app
from tests.slack_fuzz_support import (
    ACTION_IDS,
    COMMANDS,
    FORM,
    GOOD_BEARERS,
    LIMIT,
    METRICS_TOKEN,
    NATURAL_TYPE,
    SIGNING_SECRET,
    SlackRig,
    as_new_delivery,
    check_answer,
    click_payload,
    command_form,
    content_types,
    event_envelope,
    events,
    hostile_text,
    interactions,
    payload_form,
    retry_headers,
    slash_commands,
)


@pytest.fixture(scope="module")
def slack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlackRig]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('endpoints')}/props.db"
    context = intake_app(
        url, server={"max_body_bytes": LIMIT}, monitoring={"metrics_token": METRICS_TOKEN}
    )
    with rig_running(context) as rig:
        built = SlackRig(rig)
        logging.getLogger().addHandler(built.errors)
        try:
            yield built
        finally:
            logging.getLogger().removeHandler(built.errors)
            rig.run(built.sender.aclose())


# -- the properties ------------------------------------------------------------------------


@settings(SETTINGS, max_examples=100)
@given(
    headers=hostile_headers(
        "X-Slack-Request-Timestamp",
        "X-Slack-Signature",
        "Content-Type",
        "X-Slack-Retry-Num",
        "Content-Length",
    ),
    body=st.binary(max_size=2048),
)
def test_unsigned_requests_are_refused(
    slack: SlackRig, headers: dict[str, bytes], body: bytes
) -> None:
    response = slack.slack(body, headers)
    assert response.status_code in (400, 401, 413), response.text
    check_answer(slack, response, body)


@settings(SETTINGS, max_examples=60)
@given(data=st.data(), forgery=st.sampled_from(["secret", "stale", "future", "other-body"]))
def test_wrongly_signed_requests_are_refused(
    slack: SlackRig, data: st.DataObject, forgery: str
) -> None:
    body = data.draw(slash_commands(slack.sender) | interactions(slack.sender) | events())
    skew = {"stale": -400, "future": 400}.get(forgery, 0)  # Slack allows 300 s
    timestamp = str(int(time.time()) + skew)
    secret = SIGNING_SECRET + "x" if forgery == "secret" else SIGNING_SECRET
    signed_for = body + b"&" if forgery == "other-body" else body
    headers = {
        "Content-Type": FORM,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": sign(secret, timestamp, signed_for),
    }
    response = slack.slack(body, headers)
    assert response.status_code in (401, 413), response.text
    check_answer(slack, response, body)


@settings(SETTINGS, max_examples=400)
@given(
    data=st.data(),
    kind=st.sampled_from(["command", "interaction", "event", "bytes"]),
    content_type=content_types,
    retry=retry_headers,
)
def test_signed_hostile_bodies(
    slack: SlackRig,
    data: st.DataObject,
    kind: str,
    content_type: str | bytes,
    retry: dict[str, str],
) -> None:
    strategy = {
        "command": slash_commands(slack.sender),
        "interaction": interactions(slack.sender),
        "event": events(),
        "bytes": st.binary(max_size=4096),
    }[kind]
    body = as_new_delivery(data.draw(strategy))
    # Half the time the content type Slack sends with such a body, so listeners run.
    content_type = data.draw(st.just(NATURAL_TYPE[kind]) | st.just(content_type))
    response = slack.signed(body, content_type, **retry)
    event(f"{kind}: {response.status_code}")
    check_answer(slack, response, body)


CLICK_FIELDS = ["container", "message", "user", "channel", "trigger_id", "response_url"]


@settings(SETTINGS, max_examples=100)
@given(
    action_id=st.sampled_from(ACTION_IDS),
    field=st.sampled_from([*CLICK_FIELDS, "action.value", "action.action_id"]),
    value=json_values,
)
@example(action_id="incident:ack:1", field="container", value=[])  # `container.get` raised
@example(action_id="incident:ack:1", field="action.value", value="²")  # isdigit, then int
def test_clicks_with_fields_of_another_type(
    slack: SlackRig, action_id: str, field: str, value: Any
) -> None:
    payload = click_payload(slack.sender, action_id)
    if field.startswith("action."):
        payload["actions"][0][field.removeprefix("action.")] = value
    else:
        payload[field] = value
    body = as_new_delivery(payload_form(payload))
    check_answer(slack, slack.signed(body, FORM), body)


@settings(SETTINGS, max_examples=40)
@given(command=st.sampled_from(COMMANDS), text=hostile_text)
@example(command="/audit", text="recent ²")  # isdigit, then int
def test_commands_with_hostile_text(slack: SlackRig, command: str, text: str) -> None:
    body = as_new_delivery(urlencode(command_form(slack.sender, command, text)).encode())
    check_answer(slack, slack.signed(body, FORM), body)


ACTION_ID_NOT_TEXT = payload_form({"type": "block_actions", "actions": [{"action_id": {}}]})
NO_ACTIONS = payload_form({"type": "block_actions", "actions": []})
unreadable_bodies = (
    st.tuples(
        json_values.filter(lambda v: not isinstance(v, dict)).map(
            lambda v: urlencode({"payload": json.dumps(v)}).encode()
        ),
        st.just(FORM),
    )
    | st.tuples(st.binary(max_size=64).map(lambda b: b"\xff" + b), content_types)
    | st.tuples(
        st.builds(lambda text: urlencode({"command": "/fleet", "text": text}).encode(), st.text()),
        st.just("application/json"),
    )
)


@settings(SETTINGS, max_examples=30)
@given(request=unreadable_bodies)
@example(request=(b"payload=null", FORM))
@example(request=(b"payload=%7B", FORM))
@example(request=(b"payload=%5B%5D%00", FORM))
@example(request=(b"command=%2Ffleet&text=help", "application/json"))
@example(request=(b'{"type": "block_actions", "team": 5}', "application/json"))
@example(request=(ACTION_ID_NOT_TEXT, FORM))
@example(request=(NO_ACTIONS, FORM))
def test_signed_bodies_bolt_cannot_read_are_refused(
    slack: SlackRig, request: tuple[bytes, str | bytes]
) -> None:
    # Bolt raised on these before any listener ran (parsing the body, building its context,
    # matching a listener), and the bot answered 500.
    body, content_type = request
    response = slack.signed(body, content_type)
    assert response.status_code == 400, (response.status_code, response.text)
    check_answer(slack, response, body)


@settings(SETTINGS, max_examples=40)
@given(
    path=st.sampled_from(["/healthz", "/livez", "/readyz", "/status", "/metrics"]),
    params=st.lists(
        st.tuples(st.sampled_from(["scope", "x", ""]) | st.text(max_size=10), st.text(max_size=40))
        | st.just(("scope", "replica")),
        max_size=3,
    ),
    authorization=st.none()
    | st.sampled_from(
        [*GOOD_BEARERS, f"Bearer {METRICS_TOKEN}x", f"Basic {METRICS_TOKEN}", "Bearer", "Bearer "]
    )
    | header_text,
    body=st.none() | st.binary(max_size=512),
)
def test_health_readiness_and_metrics(
    slack: SlackRig,
    path: str,
    params: list[tuple[str, str]],
    authorization: str | bytes | None,
    body: bytes | None,
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = slack.answer("GET", path, params=params, headers=headers, body=body)
    # The rig is ready: /readyz's 503 would be a real problem, not hostile input's effect.
    assert response.status_code in (200, 401), (response.status_code, response.text)
    if path == "/metrics":
        authorized = authorization in GOOD_BEARERS
        assert (response.status_code == 200) == authorized, (authorization, response.text)
    else:
        assert response.status_code == 200
    check_answer(slack, response, body or b"")


def test_well_formed_requests_are_accepted(slack: SlackRig) -> None:
    # The bases the strategies start from really are accepted, and so are real retries.
    form = urlencode(command_form(slack.sender)).encode()
    click = payload_form(click_payload(slack.sender))
    mention = json.dumps(event_envelope()).encode()
    for base, content_type in [(form, FORM), (click, FORM), (mention, "application/json")]:
        body = as_new_delivery(base)
        assert slack.signed(body, content_type).status_code == 200, body[:200]
        retried = slack.signed(body, content_type, **{"X-Slack-Retry-Num": "1"})
        assert retried.status_code == 200
        check_answer(slack, retried, body)
    metrics = slack.answer("GET", "/metrics", headers=bearer(METRICS_TOKEN))
    assert metrics.status_code == 200
    assert slack.answer("GET", "/readyz").json()["status"] == "ok"
    assert slack.answer("GET", "/readyz", params=[("scope", "replica")]).status_code == 200
