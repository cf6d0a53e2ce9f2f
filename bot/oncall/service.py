"""What `/oncall` reads and writes, for the command module to call: the roster of a
rotation now, an override (audited in the same transaction), the facts of a shift so far."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.audit.actors import Actor
from bot.audit.hash_chain import KeyRing
from bot.audit.writer import append
from bot.db.models import PostedMessage
from bot.db.unit_of_work import writing
from bot.oncall.config import Rotation
from bot.oncall.models import Handoff, OncallOverride
from bot.oncall.roster import Roster
from bot.oncall.summary import ShiftFacts, collect_facts
from bot.runtime import Runtime

OVERRIDE_SET = "oncall.override"


async def roster_of(rt: Runtime, rotation: Rotation, now: datetime) -> Roster:
    """Raises `ScheduleUnavailable` for a PagerDuty rotation with nothing to answer."""
    async with rt.sessions() as session:
        return await rt.rosters.of(session, rotation, now)


async def set_override(
    rt: Runtime, *, rotation: Rotation, user: str, until: datetime, by: Actor, reason: str | None
) -> None:
    now = rt.clock()
    async with writing(rt.sessions) as session:
        session.add(
            OncallOverride(
                rotation=rotation.name, user=user, start=now, end=until,
                created_by=by.id, created_at=now,
            )
        )  # fmt: skip
        await append(
            session,
            key=KeyRing.from_config(rt.config.audit),
            actor=by,
            action=OVERRIDE_SET,
            target=rotation.name,
            params={"user": user, "until": until.isoformat(), "reason": reason},
            outcome="set",
            clock=rt.clock,
        )


async def shift_so_far(rt: Runtime, *, start: datetime, now: datetime) -> ShiftFacts:
    async with rt.sessions() as session:
        return await collect_facts(session, start, now, rt.hooks.handoff_sections)


async def last_handoffs(rt: Runtime, limit: int) -> list[tuple[Handoff, PostedMessage | None]]:
    """The newest handoff summaries, with where their channel post landed (if it has)."""
    async with rt.sessions() as session:
        rows = list(
            await session.scalars(select(Handoff).order_by(Handoff.posted_at.desc()).limit(limit))
        )
        return [(row, await session.get(PostedMessage, handoff_key(row))) for row in rows]


def handoff_key(row: Handoff) -> str:
    """The outbox key of a handoff's channel post (bot/oncall/handoff_posting.py)."""
    return f"handoff:{row.rotation}:{row.shift_start.isoformat()}"
