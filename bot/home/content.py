"""What a person's App Home shows, read from the areas that own it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.actions.guard_chain import Person
from bot.actions.models import ActionRequest
from bot.actions.waiting import waiting_for
from bot.automation.models import AutomationRun
from bot.automation.store import SwitchState, last_runs, switch_state
from bot.incidents.models import Incident
from bot.incidents.queries import mine
from bot.oncall.pagerduty import ScheduleUnavailable
from bot.oncall.service import last_handoffs
from bot.permalinks import permalink_of
from bot.runtime import Runtime

INCIDENTS_SHOWN = 10
RUNS_SHOWN = 3
HANDOFFS_SHOWN = 3


@dataclass(frozen=True)
class Duty:
    """One rotation: who is on call now and until when (None: unknown)."""

    rotation: str
    person: str | None
    until: datetime | None


@dataclass(frozen=True)
class HandoffLink:
    rotation: str
    incoming: str
    posted_at: datetime
    link: str | None


@dataclass(frozen=True)
class HomeFacts:
    user: str
    now: datetime
    duties: list[Duty] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    approvals: list[ActionRequest] = field(default_factory=list)
    automation: SwitchState = field(default_factory=SwitchState)
    runs: list[AutomationRun] = field(default_factory=list)
    handoffs: list[HandoffLink] = field(default_factory=list)


async def _duties(rt: Runtime, now: datetime) -> list[Duty]:
    found: list[Duty] = []
    for rotation in rt.config.oncall.rotations:
        try:
            async with rt.sessions() as session:
                roster = await rt.rosters.of(session, rotation, now)
        except ScheduleUnavailable:
            found.append(Duty(rotation.name, None, None))
            continue
        shift = roster.shift(now)
        found.append(Duty(rotation.name, roster.on_call(now), shift.end if shift else None))
    return found


async def _handoffs(rt: Runtime) -> list[HandoffLink]:
    found = []
    for row, posted in await last_handoffs(rt, HANDOFFS_SHOWN):
        link = await permalink_of(rt, posted.channel, posted.ts) if posted is not None else None
        found.append(HandoffLink(row.rotation, row.incoming, row.posted_at, link))
    return found


async def home_facts(rt: Runtime, user: str) -> HomeFacts:
    now = rt.clock()
    async with rt.sessions() as session:
        automation = await switch_state(session)
        runs = await last_runs(session, RUNS_SHOWN)
    return HomeFacts(
        user=user,
        now=now,
        duties=await _duties(rt, now),
        incidents=await mine(rt, user=user, limit=INCIDENTS_SHOWN),
        approvals=await waiting_for(rt, Person(user, "")),
        automation=automation,
        runs=runs,
        handoffs=await _handoffs(rt),
    )
