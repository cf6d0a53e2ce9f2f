"""Alertmanager intake: the captured 0.25 deliveries become the right pages, field by field;
`POST /hooks/alertmanager` checks bearer and basic credentials; the API v2 client."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from integrations.alertmanager import (
    AlertmanagerClient,
    AlertmanagerRejected,
    AlertmanagerUnavailable,
    Matcher,
    PostableAlert,
    SilenceNotFound,
    parse_webhook,
)
from integrations.pages import TRUNCATED
from integrations.webhooks import InvalidPayload
from tests.intake_helpers import AM_BASIC, AM_TOKEN, basic, bearer, captured, intake_app

T0 = datetime(2026, 11, 26, 11, 54, 30, tzinfo=UTC)


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/intake.db"


# -- the captured deliveries -------------------------------------------------------------


def test_firing_group_is_two_pages_with_every_field() -> None:
    _, body = captured("firing-group")
    batch = parse_webhook(body_of(body))
    assert batch.delivery_id is None
    first, second = batch.pages
    assert first.source == "alertmanager"
    assert first.dedup_key == "b4d3847abc9e7b31"
    assert first.status == "firing"
    assert first.severity == "warning"
    assert first.title == "PostgresReplicationLag"
    assert first.service == "pg-orders"
    assert first.kind == "postgres"
    assert first.labels == {
        "alertname": "PostgresReplicationLag",
        "cluster": "pg-orders",
        "kind": "postgres",
        "member": "pg-orders-1",
        "region": "us-east-1",
        "service": "pg-orders",
        "severity": "warning",
    }
    assert first.summary == "Replica pg-orders-1 is 312s behind the primary"
    assert first.description == ""
    assert first.runbook_url == "https://runbooks.example.com/pg/replication-lag"
    # Nanoseconds are cut to microseconds; the zero endsAt of a firing alert is no end.
    assert first.starts_at == datetime(2026, 11, 26, 11, 54, 30, 237257, tzinfo=UTC)
    assert first.ends_at is None
    assert first.source_url == "http://prometheus.example.com/graph?g0.expr=pg_replication_lag"

    assert second.dedup_key == "5ba0845daf8f8b7e"
    assert second.labels["member"] == "pg-orders-2"
    assert second.summary == "Replica pg-orders-2 is 290s behind the primary"
    assert second.runbook_url is None
    assert second.source_url is None  # generatorURL ""
    assert second.starts_at == datetime(2026, 11, 26, 11, 54, 30, 249119, tzinfo=UTC)


def test_firing_single_is_one_critical_page() -> None:
    _, body = captured("firing-single")
    (page,) = parse_webhook(body_of(body)).pages
    assert page.dedup_key == "c9104c3944ea9115"
    assert page.status == "firing"
    assert page.severity == "critical"
    assert page.title == "PostgresPrimaryDown"
    assert page.service == "pg-billing"
    assert page.kind == "postgres"
    assert page.labels["member"] == "pg-billing-0"
    assert page.labels["region"] == "us-east-1"
    assert page.summary == "Primary pg-billing-0 is not accepting connections"
    assert page.runbook_url is None
    assert page.starts_at == datetime(2026, 11, 26, 11, 54, 30, 260342, tzinfo=UTC)
    assert page.ends_at is None


def test_resolved_group_keeps_the_identity_and_gains_an_end() -> None:
    _, firing = captured("firing-group")
    _, resolved = captured("resolved-group")
    before = parse_webhook(body_of(firing)).pages
    after = parse_webhook(body_of(resolved)).pages
    assert [p.dedup_key for p in after] == [p.dedup_key for p in before]
    assert [p.status for p in after] == ["resolved", "resolved"]
    assert [p.ends_at for p in after] == [datetime(2026, 11, 26, 11, 54, 34, tzinfo=UTC)] * 2
    assert [p.starts_at for p in after] == [p.starts_at for p in before]
    assert [p.title for p in after] == ["PostgresReplicationLag"] * 2
    # The resolved delivery carries no runbook annotation; the page says so.
    assert after[0].runbook_url is None


# -- what the parser refuses and how it fills gaps ---------------------------------------


def _single() -> dict[str, Any]:
    return copy.deepcopy(captured("firing-single")[1])


@pytest.mark.parametrize(
    ("mutate", "status", "reason"),
    [
        (lambda b: b.update(version="3"), 422, "version"),
        (lambda b: b.update(alerts=[]), 422, "at least one alert"),
        (lambda b: b["alerts"][0].pop("fingerprint"), 422, "fingerprint"),
        (lambda b: b["alerts"][0].update(status="pending"), 422, "status"),
        (lambda b: b["alerts"][0]["labels"].update(member=7), 422, "labels.member"),
        (lambda b: b["alerts"][0].update(startsAt="yesterday"), 422, "startsAt"),
    ],
)
def test_bad_alerts_refuse_the_whole_delivery(mutate: Any, status: int, reason: str) -> None:
    body = _single()
    body["alerts"].append(copy.deepcopy(body["alerts"][0]))
    mutate(body)
    with pytest.raises(InvalidPayload) as caught:
        parse_webhook(body_of(body))
    assert caught.value.status == status
    assert reason in caught.value.reason


@pytest.mark.parametrize(
    ("labels", "reason"), [({"service": "x" * 201}, "service"), ({"kind": "\x00"}, "NUL")]
)
def test_a_bad_alert_is_refused_alone(labels: dict[str, str], reason: str) -> None:
    body = _single()
    body["alerts"].append(copy.deepcopy(body["alerts"][0]))
    body["alerts"][0]["labels"].update(labels)
    batch = parse_webhook(body_of(body))
    assert len(batch.pages) == 1
    (refused,) = batch.refused
    assert refused.index == 0 and reason in refused.reason
    del body["alerts"][1]
    with pytest.raises(InvalidPayload, match=reason):  # nothing left to accept
        parse_webhook(body_of(body))


def test_not_json_is_400() -> None:
    with pytest.raises(InvalidPayload) as caught:
        parse_webhook(b"{not json")
    assert caught.value.status == 400


def test_gaps_are_filled_and_unsafe_links_dropped() -> None:
    body = _single()
    alert = body["alerts"][0]
    del alert["labels"]["alertname"], alert["labels"]["severity"], alert["labels"]["kind"]
    alert["annotations"] = {
        "summary": "s" * 400,
        "description": "Connections refused since 11:50.",
        "runbook_url": "javascript:alert(1)",
    }
    alert["startsAt"] = "2026-11-26T11:54:30"  # no zone: taken as UTC
    alert["generatorURL"] = "http://prometheus/graph?x=<!channel>"
    (page,) = parse_webhook(body_of(body)).pages
    assert page.title == "s" * (300 - len(TRUNCATED)) + TRUNCATED  # the summary, cut
    assert page.severity == "warning"
    assert page.kind is None
    assert page.description == "Connections refused since 11:50."
    assert page.runbook_url is None
    assert page.source_url is None
    assert page.starts_at == T0


# -- POST /hooks/alertmanager --------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, 401),
        (bearer("not-the-token"), 401),
        (bearer(""), 401),
        ({"Authorization": AM_TOKEN}, 401),  # no scheme
        (basic(AM_BASIC[0], "wrong"), 401),
        (basic("someone-else", AM_BASIC[1]), 401),
        ({"Authorization": "Basic !!!not-base64"}, 401),
        (bearer(AM_TOKEN), 200),
        ({"Authorization": f"bearer {AM_TOKEN}"}, 200),  # schemes are case-insensitive
        (basic(*AM_BASIC), 200),
    ],
)
async def test_alertmanager_credentials(
    sqlite_url: str, headers: dict[str, str], expected: int
) -> None:
    _, body = captured("firing-group")
    async with intake_app(sqlite_url) as app:
        response = await app.post("/hooks/alertmanager", body, headers)
        assert response.status_code == expected
        if expected == 401:
            assert response.json()["error"] == "unauthorized"
            assert app.sink.batches == []
        else:
            assert response.json() == {"accepted": 2, "new": 2}
            assert len(app.sink.batches) == 1


async def test_captured_headers_are_accepted_and_redelivery_adds_nothing(db_url: str) -> None:
    headers, body = captured("firing-group")
    async with intake_app(db_url) as app:
        first = await app.post("/hooks/alertmanager", body, headers)
        again = await app.post("/hooks/alertmanager", body, headers)
        resolved = await app.post("/hooks/alertmanager", captured("resolved-group")[1], headers)
    assert first.json() == {"accepted": 2, "new": 2}
    assert again.json() == {"accepted": 2, "new": 0}
    assert resolved.json() == {"accepted": 2, "new": 2}


async def test_bad_payload_is_answered_with_its_reason(sqlite_url: str) -> None:
    body = _single()
    body["version"] = "3"
    async with intake_app(sqlite_url) as app:
        not_json = await app.post("/hooks/alertmanager", b"\xff\xfe", bearer(AM_TOKEN))
        wrong = await app.post("/hooks/alertmanager", body, bearer(AM_TOKEN))
        assert app.sink.batches == []
    assert not_json.status_code == 400
    assert not_json.json()["error"] == "invalid_payload"
    assert wrong.status_code == 422
    assert wrong.json()["reason"].startswith("version:")


async def test_oversize_body_is_refused_before_parsing(sqlite_url: str) -> None:
    intake = {"max_body_bytes": 2048, "alertmanager": {"auth": {"bearer_tokens": [AM_TOKEN]}}}
    async with intake_app(sqlite_url, intake=intake) as app:
        big = await app.post("/hooks/alertmanager", b"[" * 4096, bearer(AM_TOKEN))
        assert big.status_code == 413
        assert big.json()["error"] == "body_too_large"
        assert app.sink.batches == []


async def test_unconfigured_and_disabled_sources_are_404(sqlite_url: str) -> None:
    intake = {"alertmanager": {"enabled": False, "auth": {}}}
    async with intake_app(sqlite_url, intake=intake) as app:
        for path in ("/hooks/alertmanager", "/hooks/pagerduty", "/hooks/generic/nope"):
            response = await app.post(path, b"{}", bearer(AM_TOKEN))
            assert response.status_code == 404, path
            assert response.json()["error"] == "not_configured"


async def test_storage_failure_is_503_then_retry_works(sqlite_url: str) -> None:
    headers, body = captured("firing-single")
    async with intake_app(sqlite_url) as app:
        app.sink.fail_next = 1
        failed = await app.post("/hooks/alertmanager", body, headers)
        retried = await app.post("/hooks/alertmanager", body, headers)
    assert failed.status_code == 503
    assert failed.json()["error"] == "storage_unavailable"
    assert retried.json() == {"accepted": 1, "new": 1}


# -- the API v2 client -------------------------------------------------------------------


class FakeAlertmanager:
    """Answers like Alertmanager's API v2; records requests; scripted failures."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.failures: list[int] = []
        self.silences: dict[str, dict[str, Any]] = {}

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.failures:
            return httpx.Response(self.failures.pop(0), json="internal error")
        path = request.url.path
        if request.method == "POST" and path == "/api/v2/silences":
            sid = f"00000000-0000-0000-0000-{len(self.silences):012d}"
            posted = json.loads(request.content)
            now = datetime.now(UTC).isoformat()
            self.silences[sid] = {
                **posted,
                "id": sid,
                "status": {"state": "active"},
                "updatedAt": now,
            }
            return httpx.Response(200, json={"silenceID": sid})
        if request.method == "GET" and path == "/api/v2/silences":
            return httpx.Response(200, json=list(self.silences.values()))
        if path.startswith("/api/v2/silence/"):
            sid = path.rsplit("/", 1)[1]
            if sid not in self.silences:
                # As Alertmanager 0.25 does: GET says 404, DELETE says 500.
                status = 500 if request.method == "DELETE" else 404
                return httpx.Response(status, json="silence not found")
            if request.method == "DELETE":
                self.silences[sid]["status"] = {"state": "expired"}
            return httpx.Response(200, json=self.silences[sid])
        if request.method == "POST" and path == "/api/v2/alerts":
            return httpx.Response(200)
        return httpx.Response(400, json="bad request")

    def client(self, **kwargs: Any) -> AlertmanagerClient:
        return AlertmanagerClient(
            "http://am.test:9093",
            transport=httpx.MockTransport(self.handler),
            backoff=0,
            **kwargs,
        )


async def test_silence_round_trip_and_wire_shape() -> None:
    fake = FakeAlertmanager()
    async with fake.client(token="api-token") as am:
        sid = await am.create_silence(
            {"service": "pg-orders", "alertname": "PostgresReplicationLag"},
            T0,
            T0 + timedelta(hours=1),
            created_by="UALICE01",
            comment="incident 42: failover in progress",
        )
        listed = await am.list_silences()
        await am.expire_silence(sid)
        expired = await am.get_silence(sid)
    posted = json.loads(fake.requests[0].content)
    assert posted == {
        "matchers": [
            {"name": "service", "value": "pg-orders", "isRegex": False, "isEqual": True},
            {
                "name": "alertname",
                "value": "PostgresReplicationLag",
                "isRegex": False,
                "isEqual": True,
            },
        ],
        "startsAt": "2026-11-26T11:54:30Z",
        "endsAt": "2026-11-26T12:54:30Z",
        "createdBy": "UALICE01",
        "comment": "incident 42: failover in progress",
    }
    assert fake.requests[0].headers["authorization"] == "Bearer api-token"
    assert [s.id for s in listed] == [sid]
    assert listed[0].status.state == "active"
    assert fake.requests[2].method == "DELETE"
    assert fake.requests[2].url.path == f"/api/v2/silence/{sid}"
    assert expired.status.state == "expired"


@pytest.mark.parametrize(
    "matchers",
    [
        {},
        [Matcher(name="service", value=".*", is_regex=True)],
        [Matcher(name="service", value="")],
        [Matcher(name="service", value="pg-orders", is_equal=False)],
    ],
)
async def test_a_silence_of_everything_is_refused(matchers: Any) -> None:
    fake = FakeAlertmanager()
    async with fake.client() as am:
        with pytest.raises(ValueError, match="at least one matcher"):
            await am.create_silence(matchers, T0, T0 + timedelta(hours=1), "U1", "c")
    assert fake.requests == []


async def test_silence_must_end_after_it_starts() -> None:
    async with FakeAlertmanager().client() as am:
        with pytest.raises(ValueError, match="end after"):
            await am.create_silence({"service": "x"}, T0, T0, "U1", "c")


async def test_an_unknown_silence_says_so() -> None:
    fake = FakeAlertmanager()
    async with fake.client() as am:
        with pytest.raises(SilenceNotFound):
            await am.expire_silence("00000000-0000-0000-0000-000000000099")
        with pytest.raises(SilenceNotFound):
            await am.get_silence("00000000-0000-0000-0000-000000000099")
    assert len(fake.requests) == 2  # "not found" is an answer, not a reason to retry


async def test_reads_are_retried_but_creating_a_silence_is_not() -> None:
    fake = FakeAlertmanager()
    async with fake.client(retries=2) as am:
        fake.failures = [503, 502]
        assert await am.list_silences() == []
        assert len(fake.requests) == 3

        fake.requests.clear()
        fake.failures = [503]
        with pytest.raises(AlertmanagerUnavailable):
            await am.create_silence({"service": "x"}, T0, T0 + timedelta(hours=1), "U1", "c")
        assert len(fake.requests) == 1


async def test_rejections_carry_alertmanagers_reason() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json="start time must be before end time")

    am = AlertmanagerClient("http://am.test", transport=httpx.MockTransport(handler))
    async with am:
        with pytest.raises(AlertmanagerRejected) as caught:
            await am.post_alerts([PostableAlert(labels={"alertname": "x"})])
    assert caught.value.status == 400
    assert "start time" in caught.value.reason


async def test_unreachable_alertmanager_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    am = AlertmanagerClient("http://am.test", transport=httpx.MockTransport(handler), backoff=0)
    async with am:
        with pytest.raises(AlertmanagerUnavailable, match="ConnectError"):
            await am.list_silences()


async def test_post_alerts_sends_api_v2_shape_with_basic_auth() -> None:
    fake = FakeAlertmanager()
    async with fake.client(username="bot", password="pw") as am:
        await am.post_alerts(
            [
                PostableAlert(
                    labels={"alertname": "X", "service": "pg-orders"},
                    annotations={"summary": "s"},
                    starts_at=T0,
                )
            ]
        )
    (request,) = fake.requests
    assert request.url.path == "/api/v2/alerts"
    assert request.headers["authorization"].startswith("Basic ")
    assert json.loads(request.content) == [
        {
            "labels": {"alertname": "X", "service": "pg-orders"},
            "annotations": {"summary": "s"},
            "startsAt": "2026-11-26T11:54:30Z",
        }
    ]
