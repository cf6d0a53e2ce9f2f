"""Alertmanager webhook (version 4) → `PageBatch`, one page per alert.

The conventions of Prometheus alerting rules decide the fields: the fingerprint is the
alert's identity (the same label set always has the same one), `alertname` is the title,
the labels `service`, `kind` and `severity` name what is hurt and how badly, and the
annotations `summary`, `description` and `runbook_url` carry the words. Grafana's unified
alerting follows the same conventions and reuses `page_from_alert`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from integrations.alertmanager.models import WebhookMessage
from integrations.pages import Page, PageBatch, PageStatus, normalize_severity
from integrations.webhooks import (
    InvalidPayload,
    as_utc,
    bounded_key,
    clip,
    make_page,
    safe_url,
    validate,
)

SOURCE = "alertmanager"
MAX_SERVICE = 200
MAX_KIND = 40


def _label(labels: Mapping[str, str], name: str, limit: int) -> str | None:
    value = labels.get(name, "").strip()
    if not value:
        return None
    if len(value) > limit:
        # Routing and grouping key on these; a clipped value would route somewhere else.
        raise InvalidPayload(f"label {name} is longer than {limit} characters")
    return value


def page_from_alert(
    *,
    source: str,
    fingerprint: str,
    status: PageStatus,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    starts_at: datetime | None,
    ends_at: datetime | None,
    source_url: str | None,
) -> Page:
    summary = annotations.get("summary", "").strip()
    description = annotations.get("description", "").strip()
    title = labels.get("alertname", "").strip() or summary or f"alert {fingerprint}"
    return make_page(
        source=source,
        dedup_key=bounded_key(fingerprint),
        status=status,
        severity=normalize_severity(labels.get("severity")),
        title=clip(title, 300),
        service=_label(labels, "service", MAX_SERVICE),
        kind=_label(labels, "kind", MAX_KIND),
        labels=dict(labels),
        summary=clip(summary, 3000),
        description=clip(description, 3000),
        runbook_url=safe_url(annotations.get("runbook_url") or annotations.get("runbook")),
        starts_at=as_utc(starts_at),
        # Only a resolved alert has really ended; a firing one may carry the time
        # Alertmanager will consider it stale, which is not an end.
        ends_at=as_utc(ends_at) if status == "resolved" else None,
        source_url=safe_url(source_url, 2000),
    )


def parse_webhook(body: bytes) -> PageBatch:
    """Every alert of the delivery as a page, or `InvalidPayload` for the whole of it."""
    message = validate(WebhookMessage, body)
    if not message.alerts:
        raise InvalidPayload("alerts: a webhook delivery has at least one alert")
    pages = [
        page_from_alert(
            source=SOURCE,
            fingerprint=alert.fingerprint,
            status=alert.status,
            labels=alert.labels,
            annotations=alert.annotations,
            starts_at=alert.starts_at,
            ends_at=alert.ends_at,
            source_url=alert.generator_url,
        )
        for alert in message.alerts
    ]
    return PageBatch(pages=pages)
