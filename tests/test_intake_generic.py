"""Generic JSON intake: a field mapping from app.yaml turns any sender's document into pages;
bearer or HMAC credentials."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from integrations.generic import FieldMapping, lookup, parse_document
from integrations.webhooks import InvalidPayload, hmac_sha256_hex
from tests.intake_helpers import SIGNED_SECRET, UPTIME_TOKEN, bearer, intake_app

UPTIME = FieldMapping(
    dedup_key="check.id",
    title="check.name",
    status="state",
    severity="severity",
    service="check.service",
    summary="message",
    starts_at="since",
    ends_at="until",
    labels={"region": "check.region"},
)


def uptime_event(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "check": {"id": 4711, "name": "orders API health", "service": "pg-orders", "region": "eu"},
        "state": "down",
        "severity": "P2",
        "message": "3 of 3 probes failed",
        "since": 1_764_158_070,
    }
    event.update(changes)
    return event


def parse(payload: Any, mapping: FieldMapping = UPTIME) -> Any:
    return parse_document(json.dumps(payload).encode(), name="uptime", mapping=mapping)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/intake.db"


def test_a_document_becomes_one_page() -> None:
    (page,) = parse(uptime_event()).pages
    assert page.source == "generic:uptime"
    assert page.dedup_key == "4711"
    assert page.status == "firing"
    assert page.severity == "high"
    assert page.title == "orders API health"
    assert page.service == "pg-orders"
    assert page.summary == "3 of 3 probes failed"
    assert page.labels == {"region": "eu"}
    assert page.starts_at == datetime(2025, 11, 26, 11, 54, 30, tzinfo=UTC)
    assert page.ends_at is None


def test_resolved_values_and_end_time() -> None:
    (page,) = parse(uptime_event(state="OK", until="2026-11-26T12:00:00Z")).pages
    assert page.status == "resolved"
    assert page.ends_at == datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_items_joined_keys_and_labels_from() -> None:
    mapping = FieldMapping(
        items="data.alerts",
        dedup_key=["host", "check"],
        title="check",
        labels_from="tags",
        labels={"first_ip": "ips.0"},
    )
    payload = {
        "data": {
            "alerts": [
                {
                    "host": "db1",
                    "check": "disk",
                    "tags": {"team": "dba", "n": 3, "on": True, "nested": {"x": 1}},
                    "ips": ["10.0.0.1"],
                },
                {"host": "db2", "check": "disk"},
            ]
        }
    }
    first, second = parse(payload, mapping).pages
    assert (first.dedup_key, second.dedup_key) == ("db1/disk", "db2/disk")
    assert first.labels == {"team": "dba", "n": "3", "on": "true", "first_ip": "10.0.0.1"}
    assert second.labels == {}


def test_long_keys_keep_their_identity_as_a_hash() -> None:
    first = parse(uptime_event(check={"id": "k" * 500, "name": "n"})).pages[0]
    again = parse(uptime_event(check={"id": "k" * 500, "name": "n"})).pages[0]
    assert first.dedup_key.startswith("sha256:")
    assert first.dedup_key == again.dedup_key


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ([1, 2], "JSON object"),
        (uptime_event(check={"name": "x"}), "dedup_key: no value at check.id"),
        (uptime_event(check={"id": 1, "name": {"a": 1}}), "title: the value at check.name"),
        (uptime_event(since="not a time"), "starts_at"),
        (uptime_event(since=True), "starts_at"),
        (uptime_event(message="a\x00b"), "NUL"),
    ],
)
def test_what_cannot_become_a_page_is_422(payload: Any, reason: str) -> None:
    with pytest.raises(InvalidPayload) as caught:
        parse(payload)
    assert caught.value.status == 422
    assert reason in caught.value.reason


def test_items_errors_name_the_item() -> None:
    mapping = FieldMapping(items="alerts", dedup_key="id", title="name", max_items=2)
    batch = parse({"alerts": [{"id": 1, "name": "a"}, {"id": 2}]}, mapping)
    assert [p.dedup_key for p in batch.pages] == ["1"]
    assert [r.reason[:14] for r in batch.refused] == ["items[1]: titl"]
    with pytest.raises(InvalidPayload, match=r"items\[0\]: title"):
        parse({"alerts": [{"id": 2}]}, mapping)
    with pytest.raises(InvalidPayload, match="more than 2"):
        parse({"alerts": [{"id": i, "name": "a"} for i in range(3)]}, mapping)
    with pytest.raises(InvalidPayload, match="no non-empty list"):
        parse({"alerts": []}, mapping)


def test_lookup_walks_objects_and_lists() -> None:
    doc = {"a": {"b": [{"c": 1}]}}
    assert lookup(doc, "a.b.0.c") == 1
    assert lookup(doc, "a.b.1.c") is lookup(doc, "a.x")  # both missing


@pytest.mark.parametrize("path", ["", "a..b", "a. b", ".a", "a" * 101])
def test_mapping_paths_are_checked_at_load(path: str) -> None:
    with pytest.raises(ValidationError):
        FieldMapping(dedup_key=path or "", title="t")
    with pytest.raises(ValidationError):
        FieldMapping(dedup_key="id", title="t", labels={"x": path})


# -- POST /hooks/generic/{name} ----------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({}, 401), (bearer("nope"), 401), (bearer(UPTIME_TOKEN), 200)],
)
async def test_generic_bearer(sqlite_url: str, headers: dict[str, str], expected: int) -> None:
    async with intake_app(sqlite_url) as app:
        response = await app.post("/hooks/generic/uptime", uptime_event(), headers)
        assert response.status_code == expected
        if expected == 200:
            assert response.json() == {"accepted": 1, "new": 1}
            assert app.sink.pages[0].source == "generic:uptime"


async def test_generic_hmac_with_prefix(sqlite_url: str) -> None:
    body = json.dumps({"alerts": [{"host": "db1", "check": "disk", "state": "crit"}]}).encode()
    good = {"X-Signature": "sha256=" + hmac_sha256_hex(SIGNED_SECRET, body)}
    bare = {"X-Signature": hmac_sha256_hex(SIGNED_SECRET, body)}
    async with intake_app(sqlite_url) as app:
        ok = await app.post("/hooks/generic/signed", body, good)
        no_prefix = await app.post("/hooks/generic/signed", body, bare)
        tampered = await app.post("/hooks/generic/signed", body + b" ", good)
        # The bearer token of another source opens nothing here.
        other = await app.post("/hooks/generic/signed", body, bearer(UPTIME_TOKEN))
    assert ok.status_code == 200
    assert [no_prefix.status_code, tampered.status_code, other.status_code] == [401, 401, 401]


async def test_generic_bad_document_is_answered_with_its_reason(sqlite_url: str) -> None:
    async with intake_app(sqlite_url) as app:
        response = await app.post(
            "/hooks/generic/uptime", uptime_event(check={"name": "x"}), bearer(UPTIME_TOKEN)
        )
    assert response.status_code == 422
    assert response.json() == {
        "error": "invalid_payload",
        "reason": "dedup_key: no value at check.id",
    }
