"""Shared pieces of the intake tests: a recording page sink, the bot's real ASGI app with
an `intake:` section, credentials, and payload builders for every source."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bot.asgi import create_asgi_app
from bot.composition import Bot, open_bot
from bot.config import parse_config
from bot.parts import AppParts
from bot.runtime import Runtime
from integrations import grafana, pagerduty
from integrations.pages import Page, PageBatch
from standins.loopback import LoopbackServer
from tests.conftest import base_config

PAYLOADS = Path(__file__).resolve().parent / "fixtures" / "alertmanager"
AM_TOKEN = "am-token"
AM_BASIC = ("alertmanager", "am-basic-password")
PD_SECRETS = ["pd-secret-old-0001", "pd-secret-new-0002"]
GRAFANA_SECRET = "grafana-hmac-secret"
GRAFANA_TS_HEADER = "X-Grafana-Alerting-Timestamp"
GRAFANA_TOKEN = "grafana-bearer-token"
UPTIME_TOKEN = "uptime-token"
SIGNED_SECRET = "generic-hmac-secret"


def intake_section(**overrides: Any) -> dict[str, Any]:
    """An `intake:` section with every source open, with the credentials above."""
    section: dict[str, Any] = {
        "alertmanager": {
            "auth": {"bearer_tokens": [AM_TOKEN], "basic": {AM_BASIC[0]: AM_BASIC[1]}}
        },
        "pagerduty": {"secrets": PD_SECRETS},
        "grafana": {
            "auth": {
                "bearer_tokens": [GRAFANA_TOKEN],
                "hmac": {"secrets": [GRAFANA_SECRET], "timestamp_header": GRAFANA_TS_HEADER},
            }
        },
        "generic": {
            "uptime": {
                "auth": {"bearer_tokens": [UPTIME_TOKEN]},
                "mapping": {
                    "dedup_key": "check.id",
                    "title": "check.name",
                    "status": "state",
                    "severity": "severity",
                    "service": "check.service",
                    "summary": "message",
                    "labels": {"region": "check.region"},
                },
            },
            "signed": {
                "auth": {"hmac": {"secrets": [SIGNED_SECRET], "prefix": "sha256="}},
                "mapping": {
                    "items": "alerts",
                    "dedup_key": ["host", "check"],
                    "title": "check",
                    "status": "state",
                    "labels_from": "tags",
                },
            },
        },
    }
    section.update(overrides)
    return section


@dataclass
class RecordingSink:
    """A page sink that keeps batches in memory, with the sink contract's dedupe:
    a page is new once per (source, dedup_key, status); a seen delivery_id adds nothing."""

    batches: list[PageBatch] = field(default_factory=list)
    seen: set[tuple[str, str, str]] = field(default_factory=set)
    deliveries: set[str] = field(default_factory=set)
    fail_next: int = 0

    async def __call__(self, rt: Runtime, batch: PageBatch, /) -> int:
        if self.fail_next > 0:
            self.fail_next -= 1
            raise ConnectionError("storage is down (test)")
        self.batches.append(batch)
        if batch.delivery_id is not None:
            if batch.delivery_id in self.deliveries:
                return 0
            self.deliveries.add(batch.delivery_id)
        new = 0
        for page in batch.pages:
            key = (page.source, page.dedup_key, page.status)
            if key not in self.seen:
                self.seen.add(key)
                new += 1
        return new

    @property
    def pages(self) -> list[Page]:
        return [p for b in self.batches for p in b.pages]


@dataclass
class IntakeApp:
    bot: Bot
    http: httpx.AsyncClient
    sink: RecordingSink
    # Set with `serve=True`: the app on a loopback port, for senders in other processes.
    url: str = ""

    async def post(
        self, path: str, body: bytes | dict[str, Any], headers: dict[str, str] | None = None
    ) -> httpx.Response:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return await self.http.post(path, content=content, headers=headers or {})


@asynccontextmanager
async def intake_app(
    db_url: str,
    *,
    intake: dict[str, Any] | None = None,
    serve: bool = False,
    runtime_sink: bool = False,
    **sections: Any,
) -> AsyncIterator[IntakeApp]:
    """The bot's real ASGI app with a recording sink: in process (httpx.ASGITransport),
    and with `serve=True` also on a loopback port. `runtime_sink=True` keeps the sink
    the incidents core installs instead, to test the seam itself."""
    raw = base_config(storage={"url": db_url}, intake=intake or intake_section(), **sections)
    raw["audit"]["checkpoint_file"] = None
    sink = RecordingSink()

    def record(parts: AppParts) -> None:
        # The recording sink stands in for the incidents core's, so these tests see
        # exactly what intake hands over.
        parts.hooks.page_sink = sink

    customize = None if runtime_sink else record
    bot = await open_bot(parse_config(raw, {}), run_worker=False, customize=customize)
    asgi = create_asgi_app(bot, manage_lifecycle=False)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://wk.test")
    server = LoopbackServer(asgi) if serve else None
    try:
        if server is not None:
            await server.start()
        yield IntakeApp(bot, http, sink, server.url if server is not None else "")
    finally:
        if server is not None:
            await server.stop()
        await http.aclose()
        await bot.stop()


# -- credentials -------------------------------------------------------------------------


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def basic(user: str, password: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def pagerduty_headers(body: bytes, *secrets: str, webhook_id: str | None = None) -> dict[str, str]:
    headers = {pagerduty.SIGNATURE_HEADER: ",".join(pagerduty.sign(body, s) for s in secrets)}
    if webhook_id is not None:
        headers["X-Webhook-Id"] = webhook_id
    return headers


def grafana_headers(
    body: bytes, secret: str = GRAFANA_SECRET, at: float | None = None
) -> dict[str, str]:
    timestamp = str(int(time.time() if at is None else at))
    return {
        grafana.DEFAULT_HEADER: grafana.sign(body, secret, timestamp),
        GRAFANA_TS_HEADER: timestamp,
    }


# -- payloads ----------------------------------------------------------------------------


def captured(name: str) -> tuple[dict[str, str], dict[str, Any]]:
    """Headers and body of a delivery captured from Alertmanager 0.25."""
    raw = json.loads((PAYLOADS / f"alertmanager-0.25-{name}.json").read_text())
    return raw["headers"], raw["body"]


def pagerduty_event(
    incident_id: str = "PGR0VU2",
    *,
    event_type: str = "incident.triggered",
    status: str = "triggered",
    event_id: str = "5ac64822-4adc-4fda-ade0-410becf0de4f",
    priority: str | None = "P1",
) -> dict[str, Any]:
    """A v3 webhook payload, shaped like PagerDuty's documented example."""
    data: dict[str, Any] = {
        "id": incident_id,
        "type": "incident",
        "self": f"https://api.pagerduty.com/incidents/{incident_id}",
        "html_url": f"https://acme.pagerduty.com/incidents/{incident_id}",
        "number": 2,
        "status": status,
        "incident_key": "d3640fbd41094207a1c11e58e46b1662",
        "title": "A little bump in the road",
        "service": {
            "html_url": "https://acme.pagerduty.com/services/PF9KMXH",
            "id": "PF9KMXH",
            "self": "https://api.pagerduty.com/services/PF9KMXH",
            "summary": "pg-orders",
            "type": "service_reference",
        },
        "urgency": "high",
        "resolve_reason": None,
    }
    if priority is not None:
        data["priority"] = {"id": "PSO75BM", "summary": priority, "type": "priority_reference"}
    return {
        "event": {
            "id": event_id,
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": "2026-11-26T11:54:30.169Z",
            "agent": {"id": "PLH1HKV", "summary": "Tenex Engineer", "type": "user_reference"},
            "client": {"name": "PagerDuty"},
            "data": data,
        }
    }


def grafana_message(
    status: str = "firing", fingerprint: str = "c6eadffa33fcdf37"
) -> dict[str, Any]:
    """A unified alerting webhook payload, shaped like Grafana's documented example."""
    return {
        "receiver": "watchkeeper",
        "status": status,
        "orgId": 1,
        "alerts": [
            {
                "status": status,
                "labels": {
                    "alertname": "RedisMemoryHigh",
                    "service": "redis-cache",
                    "kind": "redis",
                    "severity": "critical",
                    "region": "eu-west-1",
                },
                "annotations": {
                    "summary": "redis-cache uses 97% of maxmemory",
                    "description": "Evictions started 3 minutes ago.",
                    "runbook_url": "https://runbooks.example.com/redis/memory",
                },
                "startsAt": "2021-10-12T09:51:03.157076+02:00",
                "endsAt": "0001-01-01T00:00:00Z"
                if status == "firing"
                else "2021-10-12T10:01:03.157076+02:00",
                "generatorURL": "https://grafana.example.com/alerting/1afz29v7z/edit",
                "fingerprint": fingerprint,
                "silenceURL": "https://grafana.example.com/alerting/silence/new",
                "dashboardURL": "https://grafana.example.com/d/redis",
                "panelURL": "https://grafana.example.com/d/redis?viewPanel=3",
                "values": {"B": 97.2, "C": 1},
            }
        ],
        "groupLabels": {"alertname": "RedisMemoryHigh"},
        "commonLabels": {"alertname": "RedisMemoryHigh"},
        "commonAnnotations": {},
        "externalURL": "https://grafana.example.com/",
        "version": "1",
        "groupKey": '{}:{alertname="RedisMemoryHigh"}',
        "truncatedAlerts": 0,
        "title": "[FIRING:1] RedisMemoryHigh",
        "state": "alerting",
        "message": "**Firing**",
    }
