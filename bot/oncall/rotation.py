"""Shift arithmetic in local time: where handoffs fall, whose shift it is.

Handoff times are wall-clock times in the rotation's zone, so a 09:00 handoff stays at
09:00 across daylight-saving changes (the shift that contains the change is an hour
shorter or longer). A time that does not exist on a spring-forward day is taken as the
same offset as before the change (PEP 495 fold=0), i.e. one hour later on the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bot.oncall.config import Rotation


@dataclass(frozen=True)
class Shift:
    rotation: str
    index: int  # the number of handoffs since the rotation started
    start: datetime  # UTC
    end: datetime  # UTC
    scheduled: str  # the member whose turn it is (before overrides)


def _boundary(rotation: Rotation, day: date, slot: int) -> datetime:
    local = datetime.combine(day, rotation.handoffs[slot], tzinfo=rotation.zone)
    return local.astimezone(UTC)


def _index(rotation: Rotation, day: date, slot: int) -> int:
    return (day - rotation.start).days * len(rotation.handoffs) + slot


def _shift(rotation: Rotation, day: date, slot: int) -> Shift:
    nxt_day, nxt_slot = (
        (day, slot + 1) if slot + 1 < len(rotation.handoffs) else (day + timedelta(days=1), 0)
    )
    index = _index(rotation, day, slot)
    return Shift(
        rotation=rotation.name,
        index=index,
        start=_boundary(rotation, day, slot),
        end=_boundary(rotation, nxt_day, nxt_slot),
        scheduled=rotation.members[index % len(rotation.members)],
    )


def shift_at(rotation: Rotation, when: datetime) -> Shift:
    """The shift that contains `when` (aware); before the rotation's start, its first shift."""
    local_day = when.astimezone(rotation.zone).date()
    for day in (local_day + timedelta(days=1), local_day, local_day - timedelta(days=1)):
        for slot in reversed(range(len(rotation.handoffs))):
            if _boundary(rotation, day, slot) <= when and _index(rotation, day, slot) >= 0:
                return _shift(rotation, day, slot)
    return _shift(rotation, rotation.start, 0)


def next_shift(rotation: Rotation, shift: Shift) -> Shift:
    return shift_at(rotation, shift.end)


def previous_shift(rotation: Rotation, shift: Shift) -> Shift:
    return shift_at(rotation, shift.start - timedelta(microseconds=1))


def override_at(
    rotation: Rotation, when: datetime, overrides: list[tuple[str, datetime, datetime]]
) -> tuple[str, datetime, datetime] | None:
    """The override that decides who is on call at `when`: the newest one set in Slack
    covering it, else the newest one of app.yaml; None when the schedule decides."""
    for user, start, end in reversed(overrides):
        if start <= when < end:
            return user, start, end
    for override in reversed(rotation.overrides):
        if override.start <= when < override.end:
            return override.user, override.start, override.end
    return None


def on_call(
    rotation: Rotation, when: datetime, overrides: list[tuple[str, datetime, datetime]]
) -> str:
    """Who answers pages at `when`: the newest override covering it, else the scheduled member."""
    covering = override_at(rotation, when, overrides)
    return covering[0] if covering is not None else shift_at(rotation, when).scheduled
