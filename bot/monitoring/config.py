"""The `monitoring:` section of `app.yaml`: who may scrape `/metrics`, when the bot counts
itself unwell, and where it says so besides Slack.

Problems and recoveries are posted to `channels.ops`; with `pagerduty.routing_key` they
also page through PagerDuty's Events API v2, which still works when Slack does not.
"""

from __future__ import annotations

import re

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator

from bot.config_model import StrictModel

# "alertmanager", "pagerduty", "grafana" or "generic:<name>", as pages name their source.
SOURCE_NAME = re.compile(r"(alertmanager|pagerduty|grafana|generic:[a-z0-9][a-z0-9_-]{0,31})")


class MonitoringPagerDuty(StrictModel):
    # The Events API v2 integration key of the service that pages whoever runs the bot
    # (not the fleet's on-call: this is about the bot itself).
    routing_key: SecretStr | None = None
    events_url: AnyHttpUrl = AnyHttpUrl("https://events.pagerduty.com/v2/enqueue")

    @property
    def enabled(self) -> bool:
        return self.routing_key is not None and bool(self.routing_key.get_secret_value())


class MonitoringConfig(StrictModel):
    # `Authorization: Bearer <token>` that /metrics asks for; unset: /metrics is open.
    metrics_token: SecretStr | None = None
    # How often every replica evaluates the heartbeat.
    check_seconds: float = Field(default=30.0, ge=1, le=3600)
    # The oldest undelivered Slack message waited this long: the outbox is stuck.
    outbox_stuck_seconds: int = Field(default=300, ge=10, le=86_400)
    # The scheduler's leader lease expired this long ago and nobody took it.
    no_leader_seconds: int = Field(default=60, ge=0, le=86_400)
    # Sources expected to send (e.g. Alertmanager's always-firing Watchdog alert) ->
    # minutes without a delivery after which intake counts as stopped.
    expected_sources: dict[str, int] = Field(default_factory=dict)
    pagerduty: MonitoringPagerDuty = MonitoringPagerDuty()

    @field_validator("metrics_token")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < 16:
            raise ValueError(
                "the metrics token needs at least 16 characters (is its variable set?)"
            )
        return value

    @field_validator("expected_sources")
    @classmethod
    def _sources(cls, value: dict[str, int]) -> dict[str, int]:
        for name, minutes in value.items():
            if not SOURCE_NAME.fullmatch(name):
                raise ValueError(
                    f"{name!r}: a source is alertmanager, pagerduty, grafana or generic:<name>"
                )
            if not 1 <= minutes <= 7 * 24 * 60:
                raise ValueError(f"{name}: minutes of silence are 1 to 10080")
        return value
