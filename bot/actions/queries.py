"""What the `/fleet ops` and `/fleet locks` lists show, read for the commands that render it."""

from __future__ import annotations

from sqlalchemy import select

from bot.actions.guard_chain import LockView
from bot.actions.models import ActionRequest
from bot.actions.port import action_backend
from bot.actions.store import active_locks
from bot.runtime import Runtime
from integrations.fleet.errors import FleetError
from integrations.fleet.models import Operation


async def recent_requests(
    rt: Runtime, *, limit: int, target: str | None = None
) -> list[ActionRequest]:
    """The newest requests first, for one service or all."""
    stmt = select(ActionRequest).order_by(ActionRequest.created_at.desc()).limit(limit)
    if target:
        stmt = stmt.where(ActionRequest.target == target)
    async with rt.sessions() as session:
        return list(await session.scalars(stmt))


async def fleet_operations(rt: Runtime, *, target: str, limit: int) -> list[Operation]:
    """The fleet's own operations on `target`; none when the fleet does not answer (our
    records still do, and the fleet's view is extra)."""
    try:
        ops = await action_backend(rt.fleet, target).list_operations(service=target)
    except FleetError:
        return []
    return ops[:limit]


async def held_locks(rt: Runtime) -> list[LockView]:
    """The leases not yet expired, oldest first."""
    async with rt.sessions() as session:
        return await active_locks(session, rt.clock())
