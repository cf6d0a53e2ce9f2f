"""The incident sections of `app.yaml`: routing, grouping, escalation, storms, suggestions.

Every section has a safe default, so a config without them still routes every page to
`channels.default`, grouped by alertname and service.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator

from bot.config_model import StrictModel
from integrations.pages import SEVERITY_RANK, Severity

CHANNEL_PATTERN = r"^[CG][A-Z0-9]{2,}$"
# A user (U…/W…) or a user group (S…): rendered as <@U…> or <!subteam^S…>.
MentionId = Annotated[str, Field(pattern=r"^[UWS][A-Z0-9]{2,}$")]
# An action and its parameters, values may name the alert's labels: `reinit member={member}`.
ACTION_PATTERN = r"^[a-z][a-z-]{1,39}( [a-z_]{1,40}=[^\s=]{1,200})*$"


class RouteConfig(StrictModel):
    """Pages whose labels match go to `channel`; the first matching route wins."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    # label (or page field: service, kind, severity, source, title) -> glob pattern.
    match: dict[str, str] = Field(default_factory=dict)
    # label -> regular expression, matched in full.
    match_re: dict[str, str] = Field(default_factory=dict)
    channel: str = Field(pattern=CHANNEL_PATTERN)
    mention: list[MentionId] = Field(default_factory=list)
    # Name of an `oncall.rotations` entry: whoever is on call is mentioned too.
    oncall: str | None = None
    # Pages below this severity skip the route (and fall through to the next ones).
    min_severity: Severity = "info"
    # None: `escalation.after_minutes`; 0: this route never escalates.
    escalate_after_minutes: int | None = Field(default=None, ge=0)
    # None: `escalation.pagerduty.enabled`.
    pagerduty: bool | None = None

    @field_validator("match_re")
    @classmethod
    def _compiles(cls, value: dict[str, str]) -> dict[str, str]:
        for label, pattern in value.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"match_re.{label}: {exc}") from None
        return value

    def admits(self, severity: str) -> bool:
        return SEVERITY_RANK[severity] >= SEVERITY_RANK[self.min_severity]


class RoutingConfig(StrictModel):
    routes: list[RouteConfig] = Field(default_factory=list)
    # None: `channels.default`.
    default_channel: str | None = Field(default=None, pattern=CHANNEL_PATTERN)
    default_mention: list[MentionId] = Field(default_factory=list)
    default_oncall: str | None = None
    # Pages below this that no route takes are stored but open no incident.
    min_severity: Severity = "info"

    @field_validator("routes")
    @classmethod
    def _unique(cls, value: list[RouteConfig]) -> list[RouteConfig]:
        names = [r.name for r in value]
        if len(names) != len(set(names)) or "default" in names:
            raise ValueError("route names must be unique and not 'default'")
        return value


class GroupingConfig(StrictModel):
    # Labels (or page fields) whose values together name one incident.
    keys: list[str] = Field(default_factory=lambda: ["alertname", "service"], min_length=1)
    # A page of a group resolved less than this long ago reopens that incident; 0: never.
    reopen_minutes: int = Field(default=30, ge=0, le=7 * 24 * 60)


class PagerDutyEscalation(StrictModel):
    enabled: bool = False
    routing_key: SecretStr | None = None
    events_url: AnyHttpUrl = AnyHttpUrl("https://events.pagerduty.com/v2/enqueue")


class EscalationConfig(StrictModel):
    # Unacknowledged this long after opening: mention again. 0: never.
    after_minutes: int = Field(default=15, ge=0, le=24 * 60)
    # After the first escalation, again every this many minutes; 0: once.
    repeat_minutes: int = Field(default=0, ge=0, le=24 * 60)
    pagerduty: PagerDutyEscalation = PagerDutyEscalation()


class StormsConfig(StrictModel):
    enabled: bool = True
    # The label (or page field) incidents of one storm share.
    label: str = "region"
    # This many new incidents sharing the label within `window_seconds` make a storm.
    threshold: int = Field(default=5, ge=2)
    window_seconds: int = Field(default=60, ge=1)
    # A storm with no new incident for this long stops taking new ones.
    quiet_seconds: int = Field(default=300, ge=1)
    # How often the storm thread gets a reply listing the incidents folded since the last.
    digest_seconds: int = Field(default=30, ge=1)


class SilenceConfig(StrictModel):
    # Alertmanager's API (POST /api/v2/silences); None: silences are kept by the bot only.
    alertmanager_url: AnyHttpUrl | None = None
    username: str | None = None
    password: SecretStr | None = None
    bearer_token: SecretStr | None = None
    max_hours: int = Field(default=72, ge=1, le=24 * 90)

    @field_validator("alertmanager_url", "bearer_token", "password", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `${ALERTMANAGER_URL:-}` expands to "" when the variable is unset: no Alertmanager.
        return None if value == "" else value


SuggestedActions = dict[str, list[Annotated[str, Field(pattern=ACTION_PATTERN)]]]
