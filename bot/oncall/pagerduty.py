"""Rotations that follow a PagerDuty schedule: its on-calls, cached in this replica's memory.

One `GET /oncalls` per rotation fetches the on-calls from two days back (the shift just
ended, for the handoff) to two weeks ahead (the next shift, for `/oncall who`), and the
answer is reused for `cache_seconds`. When PagerDuty does not answer, the last good answer
is served marked stale with its age; with nothing cached the caller gets a
`ScheduleUnavailable` that says why. After a failure PagerDuty is not asked again for
`RETRY_AFTER_FAILURE`, so an outage costs one timeout per half minute, not one per page.

The cache is per replica and not persisted. Page intake must never wait on PagerDuty
inside its transaction, so it reads the cache only (`cached_roster`); every replica keeps
its cache warm with `keep_warm`, started with the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from bot import messages
from bot.oncall.config import PagerDutySchedule, Rotation
from bot.oncall.roster import ScheduleRoster, Staleness
from bot.oncall.rotation import Shift
from integrations.pagerduty import (
    Oncall,
    PagerDutyError,
    PagerDutyOncalls,
    PagerDutyRateLimited,
    PagerDutyRejected,
)

log = logging.getLogger(__name__)

LOOK_BACK = timedelta(days=2)
LOOK_AHEAD = timedelta(days=14)
RETRY_AFTER_FAILURE = timedelta(seconds=30)
NAME_LENGTH = 40  # the handoff table's column


class ScheduleUnavailable(Exception):
    """Nothing to answer with: PagerDuty failed and nothing usable is cached. The message is
    for people."""


@dataclass(frozen=True)
class _Answer:
    fetched_at: datetime
    since: datetime
    until: datetime
    shifts: list[Shift]

    def covers(self, when: datetime) -> bool:
        return self.since <= when < self.until


def _person(schedule: PagerDutySchedule, entry: Oncall) -> str:
    user = entry.user
    return schedule.slack_id(user.id, user.email) or user.display_name[:NAME_LENGTH]


def shifts_of(
    rotation: Rotation, schedule: PagerDutySchedule, entries: list[Oncall]
) -> list[Shift]:
    """On-calls as shifts, sorted; a schedule listed under several escalation levels or
    policies repeats its on-calls, and those repeats are one shift."""
    seen: dict[tuple[datetime, datetime, str], Shift] = {}
    for entry in entries:
        if entry.start is None or entry.end is None:
            continue  # a permanent on-call is not a shift of the schedule
        person = _person(schedule, entry)
        key = (entry.start, entry.end, person)
        seen.setdefault(key, Shift(rotation.name, 0, entry.start, entry.end, person))
    ordered = sorted(seen.values(), key=lambda s: (s.start, s.end))
    return [Shift(s.rotation, i, s.start, s.end, s.scheduled) for i, s in enumerate(ordered)]


def _why(exc: PagerDutyError) -> str:
    if isinstance(exc, PagerDutyRejected) and exc.status in (401, 403):
        return messages.PAGERDUTY_TOKEN_REFUSED
    if isinstance(exc, PagerDutyRejected):
        return messages.pagerduty_refused(exc.reason)
    if isinstance(exc, PagerDutyRateLimited):
        return messages.PAGERDUTY_RATE_LIMITED
    return messages.pagerduty_not_answering(str(exc))


class PagerDutyRosters:
    def __init__(self, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._transport = transport
        self._answers: dict[str, _Answer] = {}
        self._failures: dict[str, tuple[datetime, str]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def roster(self, rotation: Rotation, now: datetime) -> ScheduleRoster:
        schedule = rotation.pagerduty
        if schedule is None:
            raise ValueError(f"rotation {rotation.name} does not follow a PagerDuty schedule")
        # Callers at the same moment share one request instead of each making one.
        async with self._locks.setdefault(rotation.name, asyncio.Lock()):
            cached = self._answers.get(rotation.name)
            usable = cached if cached is not None and cached.covers(now) else None
            fresh_for = timedelta(seconds=schedule.cache_seconds)
            if usable is not None and now - usable.fetched_at < fresh_for:
                return ScheduleRoster(usable.shifts)
            reason = self._recent_failure(rotation.name, now)
            if reason is None:
                try:
                    answer = await self._fetch(rotation, schedule, now)
                except PagerDutyError as exc:
                    reason = _why(exc)
                    self._failures[rotation.name] = (now, reason)
                    log.warning("PagerDuty schedule of %s: %s", rotation.name, exc)
                else:
                    self._answers[rotation.name] = answer
                    self._failures.pop(rotation.name, None)
                    return ScheduleRoster(answer.shifts)
            if usable is not None:
                return ScheduleRoster(usable.shifts, Staleness(now - usable.fetched_at, reason))
            raise ScheduleUnavailable(messages.pagerduty_unavailable(rotation.name, reason))

    def cached_roster(self, rotation: Rotation, now: datetime) -> ScheduleRoster:
        """What is cached, however old, without asking PagerDuty (for page intake)."""
        cached = self._answers.get(rotation.name)
        if cached is None or not cached.covers(now):
            reason = self._recent_failure(rotation.name, now) or messages.PAGERDUTY_NOT_FETCHED
            raise ScheduleUnavailable(messages.pagerduty_unavailable(rotation.name, reason))
        schedule = rotation.pagerduty
        fresh_for = timedelta(seconds=schedule.cache_seconds if schedule else 0)
        if now - cached.fetched_at < fresh_for:
            return ScheduleRoster(cached.shifts)
        reason = self._recent_failure(rotation.name, now) or messages.PAGERDUTY_NOT_REFRESHED
        return ScheduleRoster(cached.shifts, Staleness(now - cached.fetched_at, reason))

    async def keep_warm(self, rotations: list[Rotation], clock: Callable[[], datetime]) -> None:
        """Refresh every PagerDuty rotation before its cache expires, for as long as the bot
        runs; on every replica, since each has its own cache."""
        if not rotations:
            return
        pause = max(5.0, min(r.pagerduty.cache_seconds for r in rotations if r.pagerduty) / 2)
        while True:
            for rotation in rotations:
                # Failures are logged and remembered by `roster`; the loop goes on.
                with contextlib.suppress(ScheduleUnavailable):
                    await self.roster(rotation, clock())
            await asyncio.sleep(pause)

    def _recent_failure(self, name: str, now: datetime) -> str | None:
        failed = self._failures.get(name)
        if failed is not None and timedelta(0) <= now - failed[0] < RETRY_AFTER_FAILURE:
            return failed[1]
        return None

    async def _fetch(
        self, rotation: Rotation, schedule: PagerDutySchedule, now: datetime
    ) -> _Answer:
        since, until = now - LOOK_BACK, now + LOOK_AHEAD
        async with PagerDutyOncalls(
            schedule.token,
            base_url=str(schedule.base_url),
            timeout=schedule.timeout_seconds,
            transport=self._transport,
        ) as api:
            entries = await api.list_oncalls(
                schedule_id=schedule.schedule_id,
                since=since,
                until=until,
                escalation_policy_id=schedule.escalation_policy_id,
            )
        return _Answer(now, since, until, shifts_of(rotation, schedule, entries))
