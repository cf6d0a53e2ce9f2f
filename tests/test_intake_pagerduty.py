"""PagerDuty: signed v3 webhooks in (rotation, wrong secret, tampering, replay), and the
Events API v2 client out, against the local stand-in."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from integrations.pagerduty import (
    PagerDutyEvents,
    PagerDutyRateLimited,
    PagerDutyRejected,
    PagerDutyUnavailable,
    parse_webhook,
    sign,
    verify,
)
from integrations.webhooks import InvalidPayload
from standins.loopback import LoopbackServer
from standins.pagerduty import StandInState, start_standin
from tests.intake_helpers import PD_SECRETS, intake_app, pagerduty_event, pagerduty_headers

OLD, NEW = PD_SECRETS


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/intake.db"


def encoded(payload: dict[str, object]) -> bytes:
    return json.dumps(payload).encode()


# -- the signature -----------------------------------------------------------------------


def test_signature_matches_pagerdutys_algorithm() -> None:
    # PagerDuty's guide: "v1=" + hex(HMAC-SHA256(secret, raw body)).
    body = '{"event":{"data":{"title":"Ünïcode"}}}'.encode()
    value = sign(body, "secret")
    assert value == "v1=" + hmac.new(b"secret", body, hashlib.sha256).hexdigest()
    assert verify(body, value, ["secret"])
    assert verify(body, "v1=" + value[3:].upper(), ["secret"])


@pytest.mark.parametrize(
    ("header", "secrets", "ok"),
    [
        ("{old}", [OLD], True),
        ("{old},{new}", [NEW], True),  # rotation: PagerDuty signs with both
        ("{new}, {old}", [OLD], True),  # spaces after commas are tolerated
        ("{old}", [OLD, NEW], True),  # rotation on our side: either secret matches
        ("{new}", [OLD], False),
        ("v2=abc,{old}", [OLD], True),  # other versions are ignored
        ("v0=deadbeef", [OLD], False),
        ("", [OLD], False),
        ("{old}", [], False),
    ],
)
def test_signature_values_and_secrets(header: str, secrets: list[str], ok: bool) -> None:
    body = encoded(pagerduty_event())
    filled = header.format(old=sign(body, OLD), new=sign(body, NEW))
    assert verify(body, filled, secrets) is ok


# -- POST /hooks/pagerduty -----------------------------------------------------------------


async def test_valid_signature_makes_one_page(db_url: str) -> None:
    body = encoded(pagerduty_event())
    async with intake_app(db_url) as app:
        response = await app.post(
            "/hooks/pagerduty", body, pagerduty_headers(body, OLD, webhook_id="wh-1")
        )
        assert response.status_code == 200
        assert response.json() == {"accepted": 1, "new": 1}
        (batch,) = app.sink.batches
    assert batch.delivery_id == "wh-1"
    (page,) = batch.pages
    assert page.source == "pagerduty"
    assert page.dedup_key == "PGR0VU2"
    assert page.status == "firing"
    assert page.severity == "critical"  # P1
    assert page.title == "A little bump in the road"
    assert page.service == "pg-orders"
    assert page.source_url == "https://acme.pagerduty.com/incidents/PGR0VU2"
    assert page.starts_at == datetime(2026, 11, 26, 11, 54, 30, 169000, tzinfo=UTC)
    assert page.labels == {
        "pagerduty_event_type": "incident.triggered",
        "pagerduty_status": "triggered",
        "pagerduty_incident_number": "2",
        "urgency": "high",
        "priority": "P1",
        "pagerduty_service_id": "PF9KMXH",
    }


async def test_two_signatures_during_rotation_are_accepted(sqlite_url: str) -> None:
    body = encoded(pagerduty_event())
    # Only the new secret is configured here; PagerDuty still signs with both.
    intake = {"pagerduty": {"secrets": [NEW]}}
    async with intake_app(sqlite_url, intake=intake) as app:
        both = await app.post("/hooks/pagerduty", body, pagerduty_headers(body, OLD, NEW))
        only_old = await app.post("/hooks/pagerduty", body, pagerduty_headers(body, OLD))
    assert both.status_code == 200
    assert only_old.status_code == 401


@pytest.mark.parametrize("case", ["wrong secret", "tampered body", "missing header", "not v1"])
async def test_bad_signatures_are_401_and_store_nothing(sqlite_url: str, case: str) -> None:
    body = encoded(pagerduty_event())
    headers = pagerduty_headers(body, OLD)
    if case == "wrong secret":
        headers = pagerduty_headers(body, "not-our-secret")
    elif case == "tampered body":
        body = body.replace(b"A little bump", b"A large bump")
    elif case == "missing header":
        headers = {}
    else:
        headers = {"X-PagerDuty-Signature": headers["X-PagerDuty-Signature"].replace("v1=", "")}
    async with intake_app(sqlite_url) as app:
        response = await app.post("/hooks/pagerduty", body, headers)
        assert response.status_code == 401
        assert app.sink.batches == []


async def test_replayed_webhook_id_is_200_and_adds_nothing(db_url: str) -> None:
    first = encoded(pagerduty_event(event_type="incident.acknowledged", status="acknowledged"))
    async with intake_app(db_url) as app:
        answers = [
            await app.post(
                "/hooks/pagerduty", first, pagerduty_headers(first, OLD, webhook_id="wh-7")
            )
            for _ in range(3)
        ]
        # The same id on another body (a replay by someone holding a signed copy of another
        # delivery cannot forge this; PagerDuty itself never reuses an id) adds nothing.
        resolved = encoded(pagerduty_event(event_type="incident.resolved", status="resolved"))
        replay = await app.post(
            "/hooks/pagerduty", resolved, pagerduty_headers(resolved, OLD, webhook_id="wh-7")
        )
        fresh = await app.post(
            "/hooks/pagerduty", resolved, pagerduty_headers(resolved, OLD, webhook_id="wh-8")
        )
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json()["new"] for a in answers] == [1, 0, 0]
    assert replay.status_code == 200
    assert replay.json()["new"] == 0
    assert fresh.json()["new"] == 1


async def test_events_about_other_resources_are_accepted_without_pages(sqlite_url: str) -> None:
    payload = pagerduty_event(event_type="incident.annotated")
    payload["event"]["data"] = {"id": "P2LA89X", "type": "incident_note", "content": "hi"}
    body = encoded(payload)
    async with intake_app(sqlite_url) as app:
        response = await app.post("/hooks/pagerduty", body, pagerduty_headers(body, OLD))
        assert response.status_code == 200
        assert response.json() == {"accepted": 0, "new": 0}
        assert app.sink.batches == []


# -- the parser --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_type", "status", "page_status"),
    [
        ("incident.triggered", "triggered", "firing"),
        ("incident.acknowledged", "acknowledged", "firing"),
        ("incident.escalated", "triggered", "firing"),
        ("incident.resolved", "resolved", "resolved"),
        ("incident.reopened", "triggered", "firing"),
    ],
)
def test_incident_status_decides_firing_or_resolved(
    event_type: str, status: str, page_status: str
) -> None:
    batch = parse_webhook(encoded(pagerduty_event(event_type=event_type, status=status)))
    (page,) = batch.pages
    assert page.status == page_status
    assert page.dedup_key == "PGR0VU2"
    assert (page.ends_at is not None) is (page_status == "resolved")
    assert (page.starts_at is not None) is (
        event_type in ("incident.triggered", "incident.reopened")
    )


def test_severity_without_priority_follows_urgency() -> None:
    (page,) = parse_webhook(encoded(pagerduty_event(priority=None))).pages
    assert page.severity == "high"


def test_malformed_incident_is_422() -> None:
    payload = pagerduty_event()
    del payload["event"]["data"]["title"]
    with pytest.raises(InvalidPayload) as caught:
        parse_webhook(encoded(payload))
    assert caught.value.status == 422
    assert "event.data" in caught.value.reason


# -- the Events API v2 client ------------------------------------------------------------


@pytest.fixture
async def standin() -> AsyncIterator[tuple[LoopbackServer, StandInState]]:
    server, state = await start_standin()
    yield server, state
    await server.stop()


async def test_trigger_then_resolve(standin: tuple[LoopbackServer, StandInState]) -> None:
    server, state = standin
    async with PagerDutyEvents("routing-key-1", base_url=server.url) as events:
        key = await events.trigger("incident-42", "pg-orders: primary down", "high", "watchkeeper")
        assert state.open_alerts() == {"incident-42"}
        await events.resolve("incident-42")
    assert key == "incident-42"
    assert state.open_alerts() == set()
    trigger, resolve = state.events
    assert trigger.routing_key == "routing-key-1"
    assert trigger.payload is not None
    assert trigger.payload.severity == "error"  # our "high"
    assert trigger.payload.source == "watchkeeper"
    assert resolve.event_action == "resolve"
    assert resolve.payload is None


async def test_full_enqueue_url_is_accepted(standin: tuple[LoopbackServer, StandInState]) -> None:
    server, state = standin
    async with PagerDutyEvents("k", base_url=server.url + "/v2/enqueue") as events:
        await events.trigger("d1", "s", "info", "src")
    assert len(state.events) == 1


async def test_server_errors_and_429_are_retried_once_enough(
    standin: tuple[LoopbackServer, StandInState],
) -> None:
    server, state = standin
    state.fail_next(502, 503)
    async with PagerDutyEvents("k", base_url=server.url, backoff=0.01, retries=2) as events:
        await events.trigger("d1", "s", "critical", "src")
        assert state.requests == 3
        state.fail_next(500, 500, 500)
        with pytest.raises(PagerDutyUnavailable):
            await events.resolve("d1")
        state.fail_next(429)
        with pytest.raises(PagerDutyRateLimited) as caught:
            async with PagerDutyEvents("k", base_url=server.url, retries=0) as once:
                await once.resolve("d1")
    assert caught.value.retry_after == 1.0
    assert [e.event_action for e in state.events] == ["trigger"]


async def test_invalid_event_is_rejected_with_pagerdutys_reason(
    standin: tuple[LoopbackServer, StandInState],
) -> None:
    server, _ = standin
    async with PagerDutyEvents("k", base_url=server.url) as events:
        with pytest.raises(PagerDutyRejected) as caught:
            await events._enqueue("trigger", "d1", None)  # a trigger without its payload
    assert caught.value.status == 400
    assert "payload" in caught.value.reason


async def test_unreachable_pagerduty_is_unavailable() -> None:
    async with PagerDutyEvents("k", base_url="http://127.0.0.1:9", retries=0) as events:
        with pytest.raises(PagerDutyUnavailable):
            await events.trigger("d1", "s", "warning", "src")
