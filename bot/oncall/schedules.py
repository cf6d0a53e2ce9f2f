"""The roster of any rotation: computed from app.yaml, or read from PagerDuty (cached)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.oncall.config import Rotation
from bot.oncall.pagerduty import PagerDutyRosters
from bot.oncall.roster import ConfiguredRoster, Roster, overrides_of


class Rosters:
    """Held by the runtime, one per replica: PagerDuty answers are cached here."""

    def __init__(self, pagerduty: PagerDutyRosters | None = None) -> None:
        self.pagerduty = pagerduty or PagerDutyRosters()

    async def of(self, session: AsyncSession, rotation: Rotation, now: datetime) -> Roster:
        """Raises `ScheduleUnavailable` for a PagerDuty rotation with nothing to answer."""
        if rotation.from_pagerduty:
            return await self.pagerduty.roster(rotation, now)
        return ConfiguredRoster(rotation, await overrides_of(session, rotation.name, now))

    async def cached(self, session: AsyncSession, rotation: Rotation, now: datetime) -> Roster:
        """Like `of`, but never waits on PagerDuty: for work inside a transaction."""
        if rotation.from_pagerduty:
            return self.pagerduty.cached_roster(rotation, now)
        return await self.of(session, rotation, now)
