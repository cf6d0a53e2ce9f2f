"""Posting the handoff at every shift change: once per (rotation, shift), across replicas.

The scheduler's leader calls `post_due_handoffs` every `oncall.check_seconds` (a minute).
A handoff row with a UNIQUE (rotation, shift_start) is written in the same transaction as
the outbox messages, so a second replica (or a leader that overlapped its successor) posts
nothing twice. A handoff missed while every replica was down is posted on the next run,
marked late. For a rotation that follows PagerDuty, the shift changes are the starts of
its on-calls.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from bot import messages, outbox
from bot.audit.actors import AUTOMATION
from bot.audit.hash_chain import KeyRing
from bot.audit.writer import append
from bot.db.unit_of_work import writing
from bot.oncall.config import Rotation
from bot.oncall.handoff_blocks import handoff_message
from bot.oncall.models import Handoff
from bot.oncall.pagerduty import ScheduleUnavailable
from bot.oncall.roster import JUST_BEFORE, Roster, is_slack_user
from bot.oncall.service import handoff_key
from bot.oncall.summary import collect_facts
from bot.permissions.roles import known_people
from bot.runtime import Runtime

log = logging.getLogger(__name__)

HANDOFF_POSTED = "oncall.handoff"


def stale_note(roster: Roster) -> str | None:
    if roster.stale is None:
        return None
    minutes = int(roster.stale.age.total_seconds() // 60)
    return messages.pagerduty_stale(minutes, roster.stale.reason)


async def post_handoff(rt: Runtime, rotation: Rotation, now: datetime) -> bool:
    """Post the handoff of the shift change most recently passed; False if already posted
    (or nothing to post: before the first handoff, too long ago, schedule unknown)."""
    try:
        async with rt.sessions() as session:
            roster = await rt.rosters.of(session, rotation, now)
    except ScheduleUnavailable as exc:
        log.warning("handoff of %s not checked: %s", rotation.name, exc)
        return False
    current = roster.shift(now)
    if current is None:
        return False
    boundary = current.start
    ended = roster.shift(boundary - JUST_BEFORE)
    if ended is None or ended.end != boundary:
        return False  # the first shift of the rotation, or nobody on call before it
    if now - boundary > timedelta(hours=rt.config.oncall.give_up_after_hours):
        return False
    late = now - boundary > timedelta(minutes=rt.config.oncall.late_after_minutes)
    outgoing = roster.on_call(boundary - JUST_BEFORE) or ended.scheduled
    incoming = roster.on_call(boundary) or current.scheduled
    try:
        async with writing(rt.sessions) as session:
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
            key = handoff_key(Handoff(rotation=rotation.name, shift_start=boundary))
            facts = await collect_facts(session, ended.start, ended.end, rt.hooks.handoff_sections)
            message = handoff_message(
                rotation.name, ended, incoming, outgoing, facts, rotation.zone,
                late=late, note=stale_note(roster),
            )  # fmt: skip
            # Keyed, so the App Home can link the summary once it is posted.
            outbox.post(session, channel=rotation.channel, message=message, key=key, clock=rt.clock)
            if is_slack_user(incoming):
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
    # The App Home shows who is on call and links the last handoffs.
    rt.homes_changed(known_people(rt.config))
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
