"""Alertmanager's wire formats: the webhook (version 4) it POSTs to receivers, and the
silence and alert shapes of its API v2 (`api/v2/openapi.yaml` of Alertmanager 0.25).

Unknown fields are ignored, not refused: a newer Alertmanager adding a field must not
turn every delivery into a 422.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

AlertStatus = Literal["firing", "resolved"]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


# -- webhook v4 --------------------------------------------------------------------------


class WebhookAlert(_Wire):
    status: AlertStatus
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime = Field(alias="startsAt")
    # The Go zero time `0001-01-01T00:00:00Z` while the alert fires.
    ends_at: datetime | None = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = Field(min_length=1)


class WebhookMessage(_Wire):
    version: Literal["4"]
    group_key: str = Field(alias="groupKey")
    # Alerts left out because of the receiver's `max_alerts`; they are not in `alerts`.
    truncated_alerts: int = Field(default=0, alias="truncatedAlerts", ge=0)
    status: AlertStatus
    receiver: str
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")
    alerts: list[WebhookAlert]


# -- API v2 ------------------------------------------------------------------------------


class Matcher(_Wire):
    name: str = Field(min_length=1)
    value: str
    is_regex: bool = Field(default=False, alias="isRegex")
    # False makes it a negative matcher (`!=`, `!~`).
    is_equal: bool = Field(default=True, alias="isEqual")


class PostableSilence(_Wire):
    id: str | None = None
    matchers: list[Matcher] = Field(min_length=1)
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime = Field(alias="endsAt")
    created_by: str = Field(alias="createdBy", min_length=1)
    comment: str = Field(min_length=1)


class SilenceStatus(_Wire):
    state: Literal["expired", "active", "pending"]


class Silence(_Wire):
    id: str
    status: SilenceStatus
    updated_at: datetime = Field(alias="updatedAt")
    matchers: list[Matcher]
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime = Field(alias="endsAt")
    created_by: str = Field(alias="createdBy")
    comment: str


class SilenceCreated(_Wire):
    silence_id: str = Field(alias="silenceID", min_length=1)


class PostableAlert(_Wire):
    labels: dict[str, str] = Field(min_length=1)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime | None = Field(default=None, alias="startsAt")
    ends_at: datetime | None = Field(default=None, alias="endsAt")
    generator_url: str | None = Field(default=None, alias="generatorURL")
