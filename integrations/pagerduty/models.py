"""PagerDuty's wire formats: the v3 webhook (one event per delivery), the Events API v2 and
the REST API v2's on-call list (`GET /oncalls`).

Only the fields the bot reads are modelled; the rest is ignored, so PagerDuty adding a
field never breaks intake.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# -- v3 webhooks -------------------------------------------------------------------------


class Reference(_Wire):
    id: str
    type: str | None = None
    summary: str | None = None
    html_url: str | None = None


class Incident(_Wire):
    """`event.data` when its `type` is `incident`."""

    id: str = Field(min_length=1)
    type: Literal["incident"]
    number: int | None = None
    status: str
    title: str
    html_url: str | None = None
    urgency: str | None = None
    service: Reference | None = None
    priority: Reference | None = None
    escalation_policy: Reference | None = None
    incident_key: str | None = None


class Event(_Wire):
    id: str = Field(min_length=1)
    event_type: str = Field(min_length=1)
    resource_type: str
    occurred_at: datetime
    agent: Reference | None = None
    # Other resource types (notes, responders, status updates) carry other shapes.
    data: dict[str, Any]


class WebhookPayload(_Wire):
    event: Event


# -- Events API v2 -----------------------------------------------------------------------

EventAction = Literal["trigger", "acknowledge", "resolve"]
EventSeverity = Literal["critical", "error", "warning", "info"]


class AlertPayload(_Wire):
    summary: str = Field(min_length=1, max_length=1024)
    source: str = Field(min_length=1)
    severity: EventSeverity
    component: str | None = None
    group: str | None = None
    custom_details: dict[str, Any] | None = None


class EnqueueEvent(_Wire):
    routing_key: str = Field(min_length=1)
    event_action: EventAction
    dedup_key: str | None = Field(default=None, max_length=255)
    payload: AlertPayload | None = None


class EnqueueAnswer(_Wire):
    status: str
    message: str = ""
    dedup_key: str | None = None
    # On 400: what was wrong with the event.
    errors: list[str] = Field(default_factory=list)


# -- REST API v2: GET /oncalls -----------------------------------------------------------


class OncallUser(_Wire):
    """A user reference, or the full user when asked with `include[]=users`."""

    id: str
    summary: str | None = None
    name: str | None = None
    email: str | None = None

    @property
    def display_name(self) -> str:
        return self.name or self.summary or self.id


class Oncall(_Wire):
    user: OncallUser
    # Both null for a permanent on-call (a user named directly in an escalation rule).
    start: datetime | None = None
    end: datetime | None = None
    escalation_level: int = 1
    schedule: Reference | None = None
    escalation_policy: Reference | None = None


class OncallPage(_Wire):
    oncalls: list[Oncall]
    limit: int | None = None
    offset: int | None = None
    more: bool = False
