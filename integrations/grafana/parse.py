"""Grafana unified alerting webhook → `PageBatch`, one page per alert.

Grafana's alerts follow the Prometheus conventions (see `integrations.alertmanager.parse`);
the link back is the panel, else the dashboard, else the rule.
"""

from __future__ import annotations

from integrations.alertmanager.parse import page_from_alert
from integrations.grafana.models import GrafanaMessage
from integrations.pages import PageBatch
from integrations.webhooks import InvalidPayload, page_batch, validate

SOURCE = "grafana"


def parse_webhook(body: bytes) -> PageBatch:
    message = validate(GrafanaMessage, body)
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
            source_url=alert.panel_url or alert.dashboard_url or alert.generator_url,
        ),
    )
