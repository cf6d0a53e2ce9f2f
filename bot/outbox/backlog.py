"""What the outbox still holds, read without taking anything: the lanes due for a pass,
the counts an orderly stop reports, and whether the worker has gone idle.

A lane is only ever as due as its oldest undelivered row (the worker sends nothing else
of it), so a row behind a head that waits on a retry back-off waits with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import OutboxMessage

UNDELIVERED = ("pending", "sending")
LANES_PER_PASS = 200


@dataclass(frozen=True)
class Backlog:
    # Rows in lanes whose head may go now or is being sent (a lane's pace only delays it).
    due: int
    # Rows in lanes whose head waits for a retry time (Slack's Retry-After, or a back-off
    # after an outage): an outage can last, so an idle wait reports these, never awaits them.
    backing_off: int


async def read_backlog(sessions: async_sessionmaker[AsyncSession], now: datetime) -> Backlog:
    heads = (
        select(
            func.min(OutboxMessage.id).label("head"),
            func.count().label("rows"),
        )
        .where(OutboxMessage.status.in_(UNDELIVERED))
        .group_by(OutboxMessage.lane)
        .subquery()
    )
    query = select(OutboxMessage.next_attempt_at, heads.c.rows).join(
        heads, OutboxMessage.id == heads.c.head
    )
    async with sessions() as session:
        lanes = (await session.execute(query)).all()
    due = sum(rows for retry_at, rows in lanes if retry_at <= now)
    return Backlog(due=due, backing_off=sum(rows for _, rows in lanes) - due)


async def due_lanes(sessions: async_sessionmaker[AsyncSession], now: datetime) -> list[str]:
    async with sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage.lane)
            .where(
                OutboxMessage.status.in_(UNDELIVERED),
                OutboxMessage.next_attempt_at <= now,
            )
            .group_by(OutboxMessage.lane)
            .limit(LANES_PER_PASS)
        )
        return list(rows)


async def count_undelivered(
    sessions: async_sessionmaker[AsyncSession], *, due_before: datetime | None = None
) -> int:
    """Rows not yet delivered; with `due_before`, only those whose time comes before it."""
    query = select(func.count()).where(OutboxMessage.status.in_(UNDELIVERED))
    if due_before is not None:
        query = query.where(OutboxMessage.next_attempt_at <= due_before)
    async with sessions() as session:
        return int(await session.scalar(query) or 0)
