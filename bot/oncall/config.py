"""`oncall:` in app.yaml: rotations with local handoff times, members in turn, overrides;
or rotations that follow a PagerDuty schedule (`source: pagerduty`)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AnyHttpUrl,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from bot.config_model import StrictModel
from bot.slack_ids import USER_ID

SLACK_USER = USER_ID
PAGERDUTY_API = "https://api.pagerduty.com"
# What a rotation kept in app.yaml has and a PagerDuty-sourced one must not.
OWN_SCHEDULE_KEYS = ("members", "handoffs", "start", "overrides")


class Override(StrictModel):
    user: str = Field(pattern=r"^[UW][A-Z0-9]{2,}$")
    start: datetime
    end: datetime

    @model_validator(mode="after")
    def _ordered(self) -> Override:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("override times need a UTC offset, e.g. 2026-12-24T09:00:00+01:00")
        if self.end <= self.start:
            raise ValueError("override end must be after its start")
        return self


class PagerDutySchedule(StrictModel):
    """Who is on call comes from PagerDuty's `GET /oncalls` for this schedule."""

    schedule_id: str = Field(pattern=r"^[A-Z0-9]{5,20}$")
    # Only the on-calls of this escalation policy (a schedule may sit in several).
    escalation_policy_id: str | None = Field(default=None, pattern=r"^[A-Z0-9]{5,20}$")
    # A REST API v2 key with read access; `${VAR}` in app.yaml.
    token: SecretStr
    base_url: AnyHttpUrl = AnyHttpUrl(PAGERDUTY_API)
    # PagerDuty login email (or PagerDuty user id) -> Slack user id. People not listed are
    # shown by their PagerDuty name and cannot be mentioned or messaged.
    users: dict[str, str] = Field(default_factory=dict)
    # Answers are reused this long; when PagerDuty is down the last one is served, marked stale.
    cache_seconds: int = Field(default=300, ge=10, le=86400)
    timeout_seconds: float = Field(default=5.0, gt=0, le=30)

    @field_validator("token")
    @classmethod
    def _present(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("the PagerDuty API token is empty (set it through ${VAR})")
        return value

    @field_validator("users")
    @classmethod
    def _slack_ids(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [f"{k}: {v}" for k, v in value.items() if not SLACK_USER.fullmatch(v)]
        if bad:
            raise ValueError(f"not Slack user ids: {', '.join(bad)}")
        return {k.strip().lower() if "@" in k else k.strip(): v for k, v in value.items()}

    def slack_id(self, pagerduty_id: str, email: str | None) -> str | None:
        if email and (found := self.users.get(email.strip().lower())):
            return found
        return self.users.get(pagerduty_id)


class Rotation(StrictModel):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    channel: str = Field(pattern=r"^[CG][A-Z0-9]{2,}$")
    # `config`: members, handoffs and overrides below; `pagerduty`: the `pagerduty:` schedule.
    source: Literal["config", "pagerduty"] = "config"
    pagerduty: PagerDutySchedule | None = None
    members: list[str] = Field(default_factory=list)
    timezone: str = "UTC"
    # Local wall-clock times of the handoffs, every day; two times make 12-hour-ish shifts.
    handoffs: list[time] = Field(default_factory=lambda: [time(9, 0)], min_length=1)
    # The first handoff on or after this local date starts members[0]'s shift.
    start: date = date(2026, 1, 1)
    overrides: list[Override] = Field(default_factory=list)

    @field_validator("members")
    @classmethod
    def _user_ids(cls, value: list[str]) -> list[str]:
        bad = [m for m in value if not SLACK_USER.fullmatch(m)]
        if bad:
            raise ValueError(f"not Slack user ids: {', '.join(bad)}")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> Rotation:
        if self.source == "config":
            if self.pagerduty is not None:
                raise ValueError("`pagerduty:` is only read with `source: pagerduty`")
            if not self.members:
                raise ValueError("`members` is required (or use `source: pagerduty`)")
            return self
        if self.pagerduty is None:
            raise ValueError("`source: pagerduty` needs a `pagerduty:` block with schedule_id")
        own = [k for k in OWN_SCHEDULE_KEYS if k in self.model_fields_set]
        if own:
            raise ValueError(
                f"{', '.join(own)}: not used with `source: pagerduty` "
                "(PagerDuty's schedule decides who is on call and when shifts change)"
            )
        return self

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None
        return value

    @field_validator("handoffs")
    @classmethod
    def _sorted_unique(cls, value: list[time]) -> list[time]:
        if len(set(value)) != len(value):
            raise ValueError("handoff times must be distinct")
        return sorted(value)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def from_pagerduty(self) -> bool:
        return self.source == "pagerduty"


class OncallConfig(StrictModel):
    rotations: list[Rotation] = Field(default_factory=list)
    # A handoff posted later than this after its time is marked late.
    late_after_minutes: int = Field(default=10, ge=1)
    # A handoff missed for longer than this (all replicas down for days) is not posted.
    give_up_after_hours: int = Field(default=24, ge=1)
    # How often the scheduler's leader looks for a due handoff: a handoff is posted at
    # most this long after its time (and after a leader takeover).
    check_seconds: float = Field(default=60.0, ge=1, le=3600)

    @field_validator("rotations")
    @classmethod
    def _unique(cls, value: list[Rotation]) -> list[Rotation]:
        names = [r.name for r in value]
        if len(names) != len(set(names)):
            raise ValueError("rotation names must be unique")
        return value

    def rotation(self, name: str) -> Rotation | None:
        return next((r for r in self.rotations if r.name == name), None)
