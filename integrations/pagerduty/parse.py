"""PagerDuty v3 webhook → `PageBatch`.

Each delivery carries one event. Events about an incident (`event.data.type` is
`incident`) become one page keyed on the incident id, so every later event of that
incident (acknowledged, escalated, resolved, reopened) lands on the same page identity;
the incident's own status decides firing or resolved. Events about other resources
(notes, responders, status updates) make no page: the batch is empty, and the delivery
is still answered 2xx so PagerDuty does not retry it.
"""

from __future__ import annotations

from pydantic import ValidationError

from integrations.pagerduty.models import Incident, WebhookPayload
from integrations.pages import PageBatch, Severity, normalize_severity
from integrations.webhooks import (
    InvalidPayload,
    as_utc,
    bounded_key,
    clip,
    describe,
    make_page,
    safe_url,
    validate,
)

SOURCE = "pagerduty"
_STARTS = frozenset({"incident.triggered", "incident.reopened"})


def _severity(incident: Incident) -> Severity:
    # The priority (P1..P5) is the responder's judgement; urgency is the fallback.
    if incident.priority is not None and incident.priority.summary:
        return normalize_severity(incident.priority.summary)
    return "high" if (incident.urgency or "").lower() == "high" else "warning"


def parse_webhook(body: bytes, *, delivery_id: str | None = None) -> PageBatch:
    payload = validate(WebhookPayload, body)
    event = payload.event
    if event.data.get("type") != "incident":
        return PageBatch(pages=[], delivery_id=delivery_id)
    try:
        incident = Incident.model_validate(event.data)
    except ValidationError as exc:
        raise InvalidPayload("event.data: " + describe(exc)) from None
    status = "resolved" if incident.status.lower() == "resolved" else "firing"
    labels = {
        "pagerduty_event_type": event.event_type,
        "pagerduty_status": incident.status,
    }
    if incident.number is not None:
        labels["pagerduty_incident_number"] = str(incident.number)
    if incident.urgency:
        labels["urgency"] = incident.urgency
    if incident.priority is not None and incident.priority.summary:
        labels["priority"] = incident.priority.summary
    if incident.service is not None:
        labels["pagerduty_service_id"] = incident.service.id
    service = incident.service.summary if incident.service is not None else None
    page = make_page(
        source=SOURCE,
        dedup_key=bounded_key(incident.id),
        status=status,
        severity=_severity(incident),
        title=clip(incident.title, 300) or f"PagerDuty incident {incident.id}",
        service=clip(service, 200) if service else None,
        labels=labels,
        summary=clip(incident.title, 3000),
        # Only these events are the moment it started; an acknowledgement is not.
        starts_at=as_utc(event.occurred_at) if event.event_type in _STARTS else None,
        ends_at=as_utc(event.occurred_at) if status == "resolved" else None,
        source_url=safe_url(incident.html_url, 2000),
    )
    return PageBatch(pages=[page], delivery_id=delivery_id)
