"""Who is on call when, whatever the rotation's source.

A rotation kept in app.yaml computes its shifts (`bot.oncall.rotation`) and applies the
overrides set in Slack; a rotation with `source: pagerduty` reads its shifts from the
schedule's on-calls (`bot.oncall.pagerduty`). Both answer the same three questions, so
`/oncall`, the handoff job and incident mentions do not care which one they hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import messages
from bot.mentions import escape, mention_user
from bot.oncall.config import SLACK_USER, Rotation
from bot.oncall.models import OncallOverride
from bot.oncall.rotation import Shift, next_shift, on_call, override_at, shift_at

JUST_BEFORE = timedelta(microseconds=1)


@dataclass(frozen=True)
class Staleness:
    """The answer is the last good one: PagerDuty did not answer just now."""

    age: timedelta
    reason: str


class Roster(Protocol):
    @property
    def stale(self) -> Staleness | None:
        """Set when the answer is an old one, served because the source did not answer."""

    def shift(self, when: datetime) -> Shift | None:
        """The shift that contains `when`; None when nobody is scheduled then."""

    def following(self, after: datetime) -> Shift | None:
        """The first shift starting at or after `after`, if one is known."""

    def on_call(self, when: datetime) -> str | None:
        """A Slack user id, or a PagerDuty name for someone not mapped to Slack."""

    def on_call_until(self, when: datetime) -> datetime | None:
        """When whoever is on call at `when` stops being so: the end of the override that
        put them there, else the end of the shift; None when nobody is on call then."""


def is_slack_user(person: str) -> bool:
    return SLACK_USER.fullmatch(person) is not None


def mention(person: str | None) -> str:
    if person is None:
        return messages.NOBODY
    # A PagerDuty name not mapped to Slack came from outside: shown as typed.
    return mention_user(person) if is_slack_user(person) else f"*{escape(person)}*"


async def overrides_of(
    session: AsyncSession, rotation: str, around: datetime
) -> list[tuple[str, datetime, datetime]]:
    """Overrides set in Slack that touch the days around `around`, oldest first."""
    rows = await session.scalars(
        select(OncallOverride)
        .where(
            OncallOverride.rotation == rotation,
            OncallOverride.end > around - timedelta(days=2),
            OncallOverride.start < around + timedelta(days=2),
        )
        .order_by(OncallOverride.id)
    )
    return [(o.user, o.start, o.end) for o in rows]


@dataclass(frozen=True)
class ConfiguredRoster:
    rotation: Rotation
    overrides: list[tuple[str, datetime, datetime]]
    stale: Staleness | None = None

    def shift(self, when: datetime) -> Shift | None:
        return shift_at(self.rotation, when)

    def following(self, after: datetime) -> Shift | None:
        found = shift_at(self.rotation, after)
        return found if found.start >= after else next_shift(self.rotation, found)

    def on_call(self, when: datetime) -> str | None:
        return on_call(self.rotation, when, self.overrides)

    def on_call_until(self, when: datetime) -> datetime | None:
        covering = override_at(self.rotation, when, self.overrides)
        return covering[2] if covering is not None else shift_at(self.rotation, when).end


@dataclass(frozen=True)
class ScheduleRoster:
    """Shifts read from an outside schedule, sorted by start."""

    shifts: list[Shift]
    stale: Staleness | None = None

    def shift(self, when: datetime) -> Shift | None:
        return next((s for s in self.shifts if s.start <= when < s.end), None)

    def following(self, after: datetime) -> Shift | None:
        return next((s for s in self.shifts if s.start >= after), None)

    def on_call(self, when: datetime) -> str | None:
        found = self.shift(when)
        return found.scheduled if found is not None else None

    def on_call_until(self, when: datetime) -> datetime | None:
        # The outside schedule has its overrides folded into its shifts already.
        found = self.shift(when)
        return found.end if found is not None else None
