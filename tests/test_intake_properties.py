"""Property tests: generated, mutated and hostile deliveries at every intake endpoint,
through the bot's real ASGI app. Whatever comes in, the answer is 2xx or 4xx (never 5xx,
never our parser's own failure), and the sink sees either the whole delivery or nothing.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, timedelta, timezone
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.webhooks import bounded_key, hmac_sha256_hex
from tests.fuzz_support import SETTINGS, Rig, hostile_headers, mutated, rig_running
from tests.intake_helpers import (
    AM_TOKEN,
    GRAFANA_TOKEN,
    SIGNED_SECRET,
    UPTIME_TOKEN,
    bearer,
    captured,
    grafana_headers,
    grafana_message,
    intake_app,
    intake_section,
    pagerduty_event,
    pagerduty_headers,
)

LIMIT = 16 * 1024


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('intake')}/props.db"
    with rig_running(intake_app(url, intake=intake_section(max_body_bytes=LIMIT))) as rig:
        yield rig


# -- endpoints: a valid body, how to sign it, how many pages a valid delivery holds ------


@dataclass(frozen=True)
class Endpoint:
    path: str
    base: Callable[[], dict[str, Any]]
    headers: Callable[[bytes], dict[str, str]]
    pages: Callable[[Any], int]


def _alerts(doc: Any) -> int:
    return len(doc["alerts"])


def _pagerduty_pages(doc: Any) -> int:
    return 1 if doc["event"]["data"].get("type") == "incident" else 0


def _signed_generic(body: bytes) -> dict[str, str]:
    return {"X-Signature": "sha256=" + hmac_sha256_hex(SIGNED_SECRET, body)}


ENDPOINTS = {
    "alertmanager": Endpoint(
        "/hooks/alertmanager",
        lambda: captured("firing-group")[1],
        lambda _: bearer(AM_TOKEN),
        _alerts,
    ),
    "pagerduty": Endpoint(
        "/hooks/pagerduty",
        pagerduty_event,
        lambda body: pagerduty_headers(body, "pd-secret-new-0002", webhook_id=None),
        _pagerduty_pages,
    ),
    "grafana": Endpoint("/hooks/grafana", grafana_message, grafana_headers, _alerts),
    "grafana-bearer": Endpoint(
        "/hooks/grafana", grafana_message, lambda _: bearer(GRAFANA_TOKEN), _alerts
    ),
    "generic": Endpoint(
        "/hooks/generic/uptime",
        lambda: {
            "check": {"id": 1, "name": "api", "service": "pg-orders", "region": "eu"},
            "state": "down",
            "severity": "P1",
            "message": "probe failed",
        },
        lambda _: bearer(UPTIME_TOKEN),
        lambda _: 1,
    ),
    "generic-signed": Endpoint(
        "/hooks/generic/signed",
        lambda: {"alerts": [{"host": "db1", "check": "disk", "state": "crit", "tags": {"a": 1}}]},
        _signed_generic,
        _alerts,
    ),
}


def check_answer(
    rig: Rig, endpoint: Endpoint, body: bytes, response: httpx.Response, before: int
) -> None:
    """The properties every answer has."""
    assert response.status_code < 500, (response.status_code, response.text, body[:300])
    assert 200 <= response.status_code < 500
    batches = rig.app.sink.batches[before:]
    if response.status_code >= 300:
        assert response.json()["error"] != "unreadable_payload", response.text
        assert batches == [], "a refused delivery reached the sink"
        return
    # Accepted: the whole delivery, in one batch, or no batch when it holds no pages; a
    # page that did not fit is listed as refused, and only it.
    answer = response.json()
    refused = len(answer.get("refused", []))
    expected = endpoint.pages(json.loads(body))
    assert answer["accepted"] + refused == expected
    if answer["accepted"] == 0:
        assert batches == []
    else:
        (batch,) = batches
        assert (len(batch.pages), len(batch.refused)) == (answer["accepted"], refused)


# -- strategies --------------------------------------------------------------------------

label_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,15}", fullmatch=True)
offsets = st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23)).map(
    lambda d: timezone(timedelta(minutes=d // timedelta(minutes=1)))
)
times = st.datetimes(timezones=offsets | st.just(UTC)).map(lambda t: t.isoformat())
ZERO = "0001-01-01T00:00:00Z"


@st.composite
def alertmanager_alerts(draw: st.DrawFn) -> dict[str, Any]:
    labels = draw(st.dictionaries(label_names, st.text(max_size=60), max_size=6))
    for name in ("alertname", "service", "kind", "severity", "region"):
        if draw(st.booleans()):
            labels[name] = draw(st.text(min_size=1, max_size=50))
    annotations = draw(
        st.dictionaries(
            st.sampled_from(["summary", "description", "runbook_url"]) | label_names,
            st.text(max_size=300) | st.just("https://runbooks.example.com/x"),
            max_size=4,
        )
    )
    return {
        "status": draw(st.sampled_from(["firing", "resolved"])),
        "labels": labels,
        "annotations": annotations,
        "startsAt": draw(times),
        "endsAt": draw(times | st.just(ZERO)),
        "generatorURL": draw(st.text(max_size=40) | st.just("http://prometheus/graph?g0=1")),
        "fingerprint": draw(st.from_regex(r"[0-9a-f]{16}", fullmatch=True) | st.text(max_size=300)),
    }


@st.composite
def alertmanager_messages(draw: st.DrawFn) -> dict[str, Any]:
    alerts = draw(st.lists(alertmanager_alerts(), min_size=1, max_size=12))
    return {
        "receiver": "watchkeeper",
        "status": draw(st.sampled_from(["firing", "resolved"])),
        "alerts": alerts,
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://am:9093",
        "version": "4",
        "groupKey": "{}:{}",
        "truncatedAlerts": draw(st.integers(min_value=0, max_value=5)),
    }


# -- the properties ------------------------------------------------------------------------


@SETTINGS
@given(message=alertmanager_messages())
def test_generated_alertmanager_deliveries(rig: Rig, message: dict[str, Any]) -> None:
    endpoint = ENDPOINTS["alertmanager"]
    body = json.dumps(message).encode()
    before = len(rig.app.sink.batches)
    response = rig.post(endpoint.path, body, bearer(AM_TOKEN))
    check_answer(rig, endpoint, body, response, before)
    if response.status_code == 200:
        batch = rig.app.sink.batches[-1]
        refused = {r.index for r in batch.refused}
        kept = [a for i, a in enumerate(message["alerts"]) if i not in refused]
        assert [p.dedup_key for p in batch.pages] == [bounded_key(a["fingerprint"]) for a in kept]
        assert [p.status for p in batch.pages] == [a["status"] for a in kept]


@settings(SETTINGS, max_examples=400)
@given(data=st.data(), name=st.sampled_from(sorted(ENDPOINTS)))
def test_mutated_deliveries_at_every_endpoint(rig: Rig, data: st.DataObject, name: str) -> None:
    endpoint = ENDPOINTS[name]
    body = data.draw(mutated(endpoint.base()))
    before = len(rig.app.sink.batches)
    response = rig.post(endpoint.path, body, endpoint.headers(body))
    check_answer(rig, endpoint, body, response, before)


@SETTINGS
@given(
    path=st.sampled_from([e.path for e in ENDPOINTS.values()] + ["/hooks/generic/unknown"]),
    headers=hostile_headers(
        "Authorization",
        "X-PagerDuty-Signature",
        "X-Grafana-Alerting-Signature",
        "X-Grafana-Alerting-Timestamp",
        "X-Signature",
        "X-Webhook-Id",
        "Content-Type",
    ),
    body=st.binary(max_size=2048),
)
def test_hostile_headers_and_bodies_never_get_in(
    rig: Rig, path: str, headers: dict[str, bytes], body: bytes
) -> None:
    before = len(rig.app.sink.batches)
    response = rig.post(path, body, headers)
    assert response.status_code in (401, 404, 413), response.text
    assert rig.app.sink.batches[before:] == []


@settings(SETTINGS, max_examples=30)
@given(
    name=st.sampled_from(sorted(ENDPOINTS)),
    extra=st.integers(min_value=1, max_value=4 * LIMIT),
    chunked=st.booleans(),
)
def test_oversize_bodies_are_refused_before_parsing(
    rig: Rig, name: str, extra: int, chunked: bool
) -> None:
    endpoint = ENDPOINTS[name]
    body = b" " * (LIMIT + extra)
    headers = endpoint.headers(body)

    async def stream() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    before = len(rig.app.sink.batches)
    response = rig.post(endpoint.path, stream() if chunked else body, headers)
    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large"
    assert rig.app.sink.batches[before:] == []


def test_a_valid_delivery_passes_at_every_endpoint(rig: Rig) -> None:
    # The baseline the mutations start from really is accepted.
    for endpoint in ENDPOINTS.values():
        body = json.dumps(endpoint.base()).encode()
        before = len(rig.app.sink.batches)
        response = rig.post(endpoint.path, body, endpoint.headers(body))
        assert response.status_code == 200, (endpoint.path, response.text)
        check_answer(rig, endpoint, body, response, before)
