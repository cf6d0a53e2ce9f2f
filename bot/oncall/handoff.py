"""Posting the handoff at every shift change: once per (rotation, shift), across replicas.

The scheduler's leader calls `post_due_handoffs` every minute. A handoff row with a
UNIQUE (rotation, shift_start) is written in the same transaction as the outbox messages,
so a second replica (or a leader that overlapped its successor) posts nothing twice. A
handoff missed while every replica was down is posted on the next run, marked late.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import outbox
from bot.audit import AUTOMATION, KeyRing, append
from bot.oncall.config import Rotation
from bot.oncall.models import Handoff, OncallOverride
from bot.oncall.render import handoff_message
from bot.oncall.rotation import on_call, previous_shift, shift_at
from bot.oncall.summary import collect_facts
from bot.runtime import Runtime

log = logging.getLogger(__name__)

HANDOFF_POSTED = "oncall.handoff"
JUST_BEFORE = timedelta(microseconds=1)


async def overrides_of(
    session: AsyncSession, rotation: str, around: datetime
) -> list[tuple[str, datetime, datetime]]:
    """Overrides set in Slack that touch the day around `around`, oldest first."""
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


async def post_handoff(rt: Runtime, rotation: Rotation, now: datetime) -> bool:
    """Post the handoff of the shift change most recently passed; False if already posted."""
    current = shift_at(rotation, now)
    boundary = current.start
    if current.index <= 0 or now - boundary > timedelta(hours=rt.config.oncall.give_up_after_hours):
        return False
    ended = previous_shift(rotation, current)
    late = now - boundary > timedelta(minutes=rt.config.oncall.late_after_minutes)
    try:
        async with rt.sessions() as session, session.begin():
            overrides = await overrides_of(session, rotation.name, boundary)
            outgoing = on_call(rotation, boundary - JUST_BEFORE, overrides)
            incoming = on_call(rotation, boundary, overrides)
            session.add(
                Handoff(
                    rotation=rotation.name,
                    shift_start=boundary,
                    outgoing=outgoing,
                    incoming=incoming,
                    posted_at=now,
                    late=late,
                )
            )
            await session.flush()  # the UNIQUE claim, before any work is queued
            facts = await collect_facts(session, ended.start, ended.end, rt.handoff_sections)
            message = handoff_message(
                rotation.name, ended, incoming, outgoing, facts, rotation.zone, late=late
            )
            outbox.post(session, channel=rotation.channel, message=message, clock=rt.clock)
            # A user id as channel is a direct message from the bot.
            outbox.post(session, channel=incoming, message=message, clock=rt.clock)
            await append(
                session,
                key=KeyRing.from_config(rt.config.audit),
                actor=AUTOMATION,
                action=HANDOFF_POSTED,
                target=rotation.name,
                params={
                    "shift_start": boundary.isoformat(),
                    "outgoing": outgoing,
                    "incoming": incoming,
                },
                outcome="posted_late" if late else "posted",
                clock=rt.clock,
            )
    except IntegrityError:
        return False  # another replica posted it
    rt.wake_outbox()
    return True


async def post_due_handoffs(rt: Runtime) -> list[str]:
    """The scheduler job: post every rotation's handoff that is due and not yet posted."""
    now = rt.clock()
    posted = []
    for rotation in rt.config.oncall.rotations:
        if await post_handoff(rt, rotation, now):
            log.info("posted handoff of %s", rotation.name)
            posted.append(rotation.name)
    return posted


def schedule_handoffs(rt: Runtime) -> None:
    if not rt.config.oncall.rotations:
        return

    async def job() -> None:
        await post_due_handoffs(rt)

    rt.scheduler.every("oncall-handoffs", 60, job)
