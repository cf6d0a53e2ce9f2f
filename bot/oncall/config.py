"""`oncall:` in app.yaml: rotations with local handoff times, members in turn, overrides."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Override(_Strict):
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


class Rotation(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    channel: str = Field(pattern=r"^[CG][A-Z0-9]{2,}$")
    members: list[str] = Field(min_length=1)
    timezone: str = "UTC"
    # Local wall-clock times of the handoffs, every day; two times make 12-hour-ish shifts.
    handoffs: list[time] = Field(default_factory=lambda: [time(9, 0)], min_length=1)
    # The first handoff on or after this local date starts members[0]'s shift.
    start: date = date(2026, 1, 1)
    overrides: list[Override] = Field(default_factory=list)

    @field_validator("members")
    @classmethod
    def _user_ids(cls, value: list[str]) -> list[str]:
        import re

        bad = [m for m in value if not re.fullmatch(r"[UW][A-Z0-9]{2,}", m)]
        if bad:
            raise ValueError(f"not Slack user ids: {', '.join(bad)}")
        return value

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


class OncallConfig(_Strict):
    rotations: list[Rotation] = Field(default_factory=list)
    # A handoff posted later than this after its time is marked late.
    late_after_minutes: int = Field(default=10, ge=1)
    # A handoff missed for longer than this (all replicas down for days) is not posted.
    give_up_after_hours: int = Field(default=24, ge=1)

    @field_validator("rotations")
    @classmethod
    def _unique(cls, value: list[Rotation]) -> list[Rotation]:
        names = [r.name for r in value]
        if len(names) != len(set(names)):
            raise ValueError("rotation names must be unique")
        return value

    def rotation(self, name: str) -> Rotation | None:
        return next((r for r in self.rotations if r.name == name), None)
