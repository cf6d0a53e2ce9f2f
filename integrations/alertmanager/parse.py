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
from integrations.pages import Page, PageBatch, PageLimits, PageStatus, normalize_severity
from integrations.webhooks import (
    InvalidPayload,
    as_utc,
    bounded_key,
    make_page,
    page_batch,
    safe_url,
    validate,
)

SOURCE = "alertmanager"


def _label(labels: Mapping[str, str], name: str, limit: int) -> str | None:
    value = labels.get(name, "").strip()
    if not value:
        return None
    if len(value) > limit:
        # Routing and grouping key on these; a clipped value would route somewhere else.
        raise InvalidPayload(f"label {name} is longer than {limit} characters", field=name)
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
        title=title,
        service=_label(labels, "service", PageLimits.service),
        kind=_label(labels, "kind", PageLimits.kind),
        labels=dict(labels),
        summary=summary,
        description=description,
        runbook_url=safe_url(
            annotations.get("runbook_url") or annotations.get("runbook"), PageLimits.runbook_url
        ),
        starts_at=as_utc(starts_at),
        # Only a resolved alert has really ended; a firing one may carry the time
        # Alertmanager will consider it stale, which is not an end.
        ends_at=as_utc(ends_at) if status == "resolved" else None,
        source_url=safe_url(source_url, PageLimits.source_url),
    )


def parse_webhook(body: bytes) -> PageBatch:
    """Every alert of the delivery as a page, each alert that cannot be one refused on its
    own; `InvalidPayload` when the delivery itself is wrong."""
    message = validate(WebhookMessage, body)
    if not message.alerts:
        raise InvalidPayload("alerts: a webhook delivery has at least one alert")
    return page_batch(
        message.alerts,
        lambda alert: page_from_alert(
            source=SOURCE,
            fingerprint=alert.fingerprint,
            status=alert.status,
            labels=alert.labels,
            annotations=alert.annotations,
            starts_at=alert.starts_at,
            ends_at=alert.ends_at,
            source_url=alert.generator_url,
        ),
    )
