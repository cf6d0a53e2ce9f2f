"""Who reviews a break-glass action one person ran alone: the *second* on-call.

The rotation is the one on call for the request's channel: the one named by the first
route that posts to that channel and names a rotation (`routing.routes[].oncall`), else
by `routing.default_oncall` when no route posts there, else the rotation whose handoffs
go to that channel, else the only rotation there is. On it, the second person is whoever
is on call now, unless that is the person who ran the action: then the next person in
turn (the following shifts, overrides included). When the rotation has nobody else (or
there is no rotation, or its schedule cannot be read), the route's own mentions are the
fallback (users or user groups other than the actor). None: nobody could be found, and
the follow-up says so.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config
from bot.oncall.config import Rotation
from bot.oncall.pagerduty import ScheduleUnavailable
from bot.oncall.roster import Roster, is_slack_user
from bot.runtime import Runtime

log = logging.getLogger(__name__)

# How many shifts ahead to look for someone else; a rotation repeats long before this.
SHIFTS_AHEAD = 16


def on_call_for_channel(config: Config, channel: str) -> tuple[Rotation | None, list[str]]:
    """The rotation on call for `channel`, and the fallback mentions of its route."""
    here = [r for r in config.routing.routes if r.channel == channel]
    route = next((r for r in here if r.oncall), here[0] if here else None)
    if route is not None:
        name: str | None = route.oncall
        fallback = list(route.mention)
    else:
        name, fallback = config.routing.default_oncall, list(config.routing.default_mention)
    rotations = config.oncall.rotations
    rotation = config.oncall.rotation(name) if name else None
    if rotation is None:
        rotation = next((r for r in rotations if r.channel == channel), None)
    if rotation is None and len(rotations) == 1:
        rotation = rotations[0]
    return rotation, fallback


def next_in_turn(roster: Roster, actor: str, now: datetime) -> str | None:
    """Whoever is on call now if that is not `actor`, else the next Slack user in turn."""
    candidates = [roster.on_call(now)]
    shift = roster.shift(now)
    after = shift.end if shift is not None else now
    for _ in range(SHIFTS_AHEAD):
        following = roster.following(after)
        if following is None or following.end <= after:
            break
        # Overrides first (who will answer then), then whose turn it is by the schedule.
        candidates += [roster.on_call(following.start), following.scheduled]
        after = following.end
    return next((c for c in candidates if c and c != actor and is_slack_user(c)), None)


async def second_person(
    session: AsyncSession, rt: Runtime, *, channel: str, actor: str, now: datetime
) -> str | None:
    """A user id (U…/W…) or user group (S…) to mention as reviewer; None when nobody."""
    rotation, fallback = on_call_for_channel(rt.config, channel)
    if rotation is not None:
        try:
            # Inside the execution claim's transaction: the cached schedule, no PagerDuty call.
            roster = await rt.rosters.cached(session, rotation, now)
        except ScheduleUnavailable as exc:
            log.warning("second on-call of %s unknown: %s", rotation.name, exc)
        else:
            found = next_in_turn(roster, actor, now)
            if found is not None:
                return found
    return next((target for target in fallback if target != actor), None)
