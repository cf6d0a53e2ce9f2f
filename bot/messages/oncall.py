"""User-facing strings of on-call rotations and handoffs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.mentions import code, mention_user

if TYPE_CHECKING:
    pass

# On-call rotations (`/oncall`).

NO_ROTATIONS = "No on-call rotations are configured (`oncall.rotations` in app.yaml)."
BAD_UNTIL = (
    "Give the end as a duration (`4h`, `90m`, `2d`) or a time with offset "
    "(`2026-12-24T09:00+01:00`), at most 31 days ahead."
)


def which_rotation(names: str) -> str:
    return f"Which rotation? One of {names}."


def not_in_rotation(rotation: str) -> str:
    return f"Only members of {code(rotation)} can change who is on call for it."


def override_set(rotation: str, user: str, until: str) -> str:
    return f"{mention_user(user)} is on call for {code(rotation)} until {until}."


def who_is_on_call(rotation: str, current: str, until: str) -> str:
    return f"*{rotation}*: {current} is on call until {until}"


def who_is_next(upcoming: str, until: str) -> str:
    return f"; next {upcoming} until {until}."


NOBODY_NEXT = "; nobody is scheduled after that in the next two weeks."


def nobody_on_call(rotation: str) -> str:
    return f"*{rotation}*: nobody is on call right now in its PagerDuty schedule"


def override_in_pagerduty(rotation: str) -> str:
    return (
        f"{code(rotation)} follows a PagerDuty schedule: set the override in PagerDuty, "
        "and it shows here within the cache time."
    )


# PagerDuty as the source of a rotation (`source: pagerduty`).

PAGERDUTY_TOKEN_REFUSED = (
    "PagerDuty refused the API token (check `pagerduty.token` of the rotation in app.yaml "
    "and that the key may read on-calls)"
)
PAGERDUTY_RATE_LIMITED = "PagerDuty is rate limiting us (429)"
PAGERDUTY_NOT_FETCHED = "its PagerDuty schedule has not been fetched yet"
PAGERDUTY_NOT_REFRESHED = "the schedule is being refreshed"


def pagerduty_refused(reason: str) -> str:
    return f"PagerDuty refused the request: {reason}"


def pagerduty_not_answering(detail: str) -> str:
    return f"PagerDuty is not answering ({detail})"


def pagerduty_unavailable(rotation: str, reason: str) -> str:
    return (
        f"I cannot tell who is on call for {code(rotation)}: {reason}, and I have no earlier "
        "answer from its PagerDuty schedule. Check PagerDuty directly meanwhile."
    )


def pagerduty_stale(age_minutes: int, reason: str) -> str:
    return f":warning: From PagerDuty {age_minutes} min ago; {reason}, so this may be out of date."


NOBODY = "nobody"


# What outlives a shift, in the handoff summary (each area contributes its part).


def handoff_locks_title(count: int) -> str:
    return f"Locks held ({count})"


def handoff_lock_line(resource: str, action: str, owner: str, since: str, until: str) -> str:
    return f"{code(resource)}: {action} by {owner} since {since}, lease until {until}"


def handoff_silences_title(count: int) -> str:
    return f"Silences past the handoff ({count})"


def handoff_maintenance_title(count: int) -> str:
    return f"Maintenance ahead ({count})"


def handoff_maintenance_scheduled(target: str, at: str, by: str) -> str:
    return f"{code(target)} at {at}, scheduled by {by}"


def handoff_maintenance_waiting(target: str, at: str | None, by: str, state: str) -> str:
    when = f" at {at}" if at else " now"
    return f"{code(target)}{when}, asked by {by}: {state}"


def more_lines(count: int) -> str:
    return f"… and {count} more"


MAINTENANCE_STATES = {
    "requested": "waiting for confirmation",
    "previewed": "waiting for confirmation",
    "confirmed": "waiting for approval",
    "approved": "approved, about to start",
    "executing": "running",
    "unknown": "outcome unknown, being looked up on the fleet",
}
