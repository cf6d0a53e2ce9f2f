"""Grafana unified alerting intake: the documented payload becomes pages; the optional HMAC
(with and without a timestamp) or a bearer token is required."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from integrations.grafana import parse_webhook, sign, verify
from integrations.webhooks import InvalidPayload
from tests.intake_helpers import (
    GRAFANA_SECRET,
    GRAFANA_TOKEN,
    bearer,
    grafana_headers,
    grafana_message,
    intake_app,
)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/intake.db"


def encoded(payload: dict[str, object]) -> bytes:
    return json.dumps(payload).encode()


def test_documented_payload_becomes_a_page() -> None:
    (page,) = parse_webhook(encoded(grafana_message())).pages
    assert page.source == "grafana"
    assert page.dedup_key == "c6eadffa33fcdf37"
    assert page.status == "firing"
    assert page.severity == "critical"
    assert page.title == "RedisMemoryHigh"
    assert page.service == "redis-cache"
    assert page.kind == "redis"
    assert page.labels["region"] == "eu-west-1"
    assert page.summary == "redis-cache uses 97% of maxmemory"
    assert page.description == "Evictions started 3 minutes ago."
    assert page.runbook_url == "https://runbooks.example.com/redis/memory"
    assert page.source_url == "https://grafana.example.com/d/redis?viewPanel=3"
    assert page.starts_at == datetime(2021, 10, 12, 7, 51, 3, 157076, tzinfo=UTC)
    assert page.ends_at is None


def test_resolved_payload_has_an_end() -> None:
    (page,) = parse_webhook(encoded(grafana_message("resolved"))).pages
    assert page.status == "resolved"
    assert page.ends_at == datetime(2021, 10, 12, 8, 1, 3, 157076, tzinfo=UTC)


def test_alert_without_fingerprint_is_422() -> None:
    payload = grafana_message()
    del payload["alerts"][0]["fingerprint"]
    with pytest.raises(InvalidPayload) as caught:
        parse_webhook(encoded(payload))
    assert caught.value.status == 422


def test_signature_is_grafanas_hmac_round_tripper() -> None:
    body = b'{"alerts":[]}'
    assert sign(body, "k") == hmac.new(b"k", body, hashlib.sha256).hexdigest()
    assert (
        sign(body, "k", "1700000000")
        == hmac.new(b"k", b"1700000000:" + body, hashlib.sha256).hexdigest()
    )
    now = 1_700_000_100.0
    assert verify(body, sign(body, "k", "1700000000"), ["k"], timestamp="1700000000", now=now)
    # Too old, or a timestamp that was not the one signed.
    assert not verify(
        body, sign(body, "k", "1700000000"), ["k"], timestamp="1700000000", now=now + 900
    )
    assert not verify(body, sign(body, "k", "1700000000"), ["k"], timestamp="1700000001", now=now)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("signed", 200),
        ("bearer", 200),
        ("no credentials", 401),
        ("wrong secret", 401),
        ("stale timestamp", 401),
        ("missing timestamp", 401),
        ("tampered body", 401),
        ("timestamp not a number", 401),
    ],
)
async def test_grafana_credentials(sqlite_url: str, case: str, expected: int) -> None:
    body = encoded(grafana_message())
    headers = grafana_headers(body)
    if case == "bearer":
        headers = bearer(GRAFANA_TOKEN)
    elif case == "no credentials":
        headers = {}
    elif case == "wrong secret":
        headers = grafana_headers(body, secret="guess")
    elif case == "stale timestamp":
        headers = grafana_headers(body, at=time.time() - 3600)
    elif case == "missing timestamp":
        headers.pop("X-Grafana-Alerting-Timestamp")
    elif case == "tampered body":
        body = body.replace(b"97%", b"12%")
    elif case == "timestamp not a number":
        headers["X-Grafana-Alerting-Timestamp"] = "soon"
    async with intake_app(sqlite_url) as app:
        response = await app.post("/hooks/grafana", body, headers)
        assert response.status_code == expected, response.text
        assert len(app.sink.batches) == (1 if expected == 200 else 0)


async def test_hmac_without_timestamp_when_none_is_configured(sqlite_url: str) -> None:
    intake = {"grafana": {"auth": {"hmac": {"secrets": [GRAFANA_SECRET]}}}}
    body = encoded(grafana_message())
    async with intake_app(sqlite_url, intake=intake) as app:
        ok = await app.post(
            "/hooks/grafana", body, {"X-Grafana-Alerting-Signature": sign(body, GRAFANA_SECRET)}
        )
        assert ok.json() == {"accepted": 1, "new": 1}
