"""A lane's lease row in `outbox_lanes`: one sender per lane across replicas, and the
lane's pace (when it may send next)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import LaneLease


async def take_lane(
    session: AsyncSession, lane: str, *, owner: str, now: datetime, seconds: float
) -> bool:
    """Take the lane's lease for `seconds` inside `session`'s transaction, if free and
    paced out. A lease already under `owner` is taken at once: with a stable
    `server.replica_id` it was left by this replica's previous, dead process."""
    until = now + timedelta(seconds=seconds)
    claimed = await session.execute(
        update(LaneLease)
        .where(
            LaneLease.lane == lane,
            or_(LaneLease.owner.is_(None), LaneLease.owner == owner, LaneLease.lease_until < now),
            or_(LaneLease.next_send_at.is_(None), LaneLease.next_send_at <= now),
        )
        .values(owner=owner, lease_until=until)
    )
    if claimed.rowcount == 1:  # type: ignore[attr-defined]
        return True
    if await session.get(LaneLease, lane) is not None:
        return False  # another replica holds it, or the lane is still pacing
    try:
        async with session.begin_nested():
            session.add(LaneLease(lane=lane, owner=owner, lease_until=until))
        return True
    except IntegrityError:
        return False  # another replica created the lane row first


async def release_lane(
    session: AsyncSession, lane: str, *, owner: str, next_send_at: datetime | None
) -> None:
    await session.execute(
        update(LaneLease)
        .where(LaneLease.lane == lane, LaneLease.owner == owner)
        .values(owner=None, lease_until=None, next_send_at=next_send_at)
    )
