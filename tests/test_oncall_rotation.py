"""Shift arithmetic: handoffs at local wall-clock times, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.oncall.config import Override, Rotation
from bot.oncall.rotation import next_shift, on_call, previous_shift, shift_at

BERLIN = Rotation(
    name="db-primary",
    channel="C0ONCALL1",
    members=["UALICE01", "UBOB0002", "UCAROL03"],
    timezone="Europe/Berlin",
    handoffs=[time(9, 0), time(21, 0)],
    start=date(2026, 1, 1),
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_shifts_alternate_members_at_local_handoff_times() -> None:
    first = shift_at(BERLIN, utc(2026, 1, 1, 8, 30))  # 09:30 CET
    assert first.index == 0
    assert first.start == utc(2026, 1, 1, 8, 0)
    assert first.end == utc(2026, 1, 1, 20, 0)
    assert first.scheduled == "UALICE01"
    second = next_shift(BERLIN, first)
    assert (second.index, second.scheduled) == (1, "UBOB0002")
    assert previous_shift(BERLIN, second) == first
    assert shift_at(BERLIN, utc(2026, 1, 2, 8, 0)).scheduled == "UCAROL03"


def test_spring_forward_keeps_the_0900_handoff_at_0900_local() -> None:
    # 2026-03-29: 02:00 CET becomes 03:00 CEST. The night shift is an hour shorter.
    night = shift_at(BERLIN, utc(2026, 3, 29, 1, 0))
    assert night.start == utc(2026, 3, 28, 20, 0)  # 21:00 CET
    assert night.end == utc(2026, 3, 29, 7, 0)  # 09:00 CEST
    assert night.end - night.start == timedelta(hours=11)
    morning = next_shift(BERLIN, night)
    assert morning.start.astimezone(BERLIN.zone).time() == time(9, 0)


def test_fall_back_keeps_the_0900_handoff_at_0900_local() -> None:
    # 2026-10-25: 03:00 CEST becomes 02:00 CET. The night shift is an hour longer.
    night = shift_at(BERLIN, utc(2026, 10, 25, 1, 30))
    assert night.start == utc(2026, 10, 24, 19, 0)  # 21:00 CEST
    assert night.end == utc(2026, 10, 25, 8, 0)  # 09:00 CET
    assert night.end - night.start == timedelta(hours=13)


def test_a_handoff_inside_the_spring_gap_happens_once() -> None:
    odd = BERLIN.model_copy(update={"handoffs": [time(2, 30)]})
    day = shift_at(odd, utc(2026, 3, 29, 12, 0))
    # 02:30 does not exist that day; it is taken with the old offset: 01:30 UTC.
    assert day.start == utc(2026, 3, 29, 1, 30)
    assert day.end == utc(2026, 3, 30, 0, 30)  # 02:30 CEST the next day


def test_overrides_win_newest_first() -> None:
    when = utc(2026, 1, 1, 10, 0)
    assert on_call(BERLIN, when, []) == "UALICE01"
    slack = [("UBOB0002", utc(2026, 1, 1, 9), utc(2026, 1, 1, 12)),
             ("UCAROL03", utc(2026, 1, 1, 9, 30), utc(2026, 1, 1, 11))]  # fmt: skip
    assert on_call(BERLIN, when, slack) == "UCAROL03"
    configured = BERLIN.model_copy(
        update={
            "overrides": [Override(user="UDAVE004", start=utc(2026, 1, 1), end=utc(2026, 1, 2))]
        }
    )
    assert on_call(configured, when, []) == "UDAVE004"
    assert on_call(configured, when, slack) == "UCAROL03"


def test_bad_rotations_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        Rotation(name="x", channel="C0X00001", members=["UALICE01"], timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="not Slack user ids"):
        Rotation(name="x", channel="C0X00001", members=["alice"])
