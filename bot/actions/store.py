"""Reading action rows, facts for the guards, and the per-resource locks.

State changes are not made here: every one is a `bot.actions.moves.move`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal, cast

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.actions.guard_chain import ApprovalView, Facts, LockView, Person, RequestView
from bot.actions.lifecycle import RUNNING, RequestState
from bot.actions.models import ActionApproval, ActionRequest, ResourceLock
from bot.actions.policy import PoliciesConfig
from integrations.fleet.models import ParamValue


def view_of(row: ActionRequest) -> RequestView:
    params: dict[str, ParamValue] = json.loads(row.params)
    return RequestView(
        id=row.id,
        action=row.action,
        target=row.target,
        params=params,
        params_hash=row.params_hash,
        requester=Person(row.requester_id, row.requester_name),
        reason=row.reason,
        break_glass=row.break_glass,
        channel_id=row.channel_id,
        thread_ts=row.thread_ts,
        plan_digest=row.plan_digest,
        expires_at=row.expires_at,
    )


async def get_request(session: AsyncSession, request_id: str) -> ActionRequest | None:
    return await session.scalar(
        select(ActionRequest)
        .where(ActionRequest.id == request_id)
        .execution_options(populate_existing=True)
    )


def _lock_view(lock: ResourceLock) -> LockView:
    return LockView(
        lock.resource,
        lock.request_id,
        lock.owner_id,
        lock.owner_name,
        lock.action,
        lock.since,
        lock.expires_at,
    )


async def current_lock(session: AsyncSession, resource: str) -> LockView | None:
    lock = await session.scalar(
        select(ResourceLock)
        .where(ResourceLock.resource == resource)
        .execution_options(populate_existing=True)
    )
    return _lock_view(lock) if lock is not None else None


async def active_locks(session: AsyncSession, now: datetime) -> list[LockView]:
    rows = await session.scalars(
        select(ResourceLock).where(ResourceLock.expires_at > now).order_by(ResourceLock.since)
    )
    return [_lock_view(r) for r in rows]


async def load_facts(
    session: AsyncSession,
    request: RequestView,
    policy: PoliciesConfig,
    now: datetime,
    *,
    audit_ready: bool,
) -> Facts:
    """What the pre-plan guards read, from the database only."""
    longest = max((r.window_minutes for r in policy.rate_limits), default=0.0)
    recent: list[tuple[str, str, datetime]] = []
    if longest:
        rows = await session.execute(
            select(ActionRequest.action, ActionRequest.target, ActionRequest.claimed_at).where(
                ActionRequest.claimed_at >= now - timedelta(minutes=longest),
                ActionRequest.id != request.id,
            )
        )
        recent = [(a, t, at) for a, t, at in rows if at is not None]
    running = await session.scalar(
        select(func.count()).where(
            ActionRequest.state.in_(RUNNING),
            ActionRequest.id != request.id,
            # An `unknown` left by a crash stops counting when its lock would have lapsed.
            ActionRequest.claimed_at >= now - timedelta(minutes=policy.lock_ttl_minutes),
        )
    )
    approvals = await session.scalars(
        select(ActionApproval).where(ActionApproval.request_id == request.id)
    )
    return Facts(
        now=now,
        audit_ready=audit_ready,
        lock=await current_lock(session, request.target),
        recent=recent,
        running=int(running or 0),
        approvals=[
            ApprovalView(
                a.approver_id, cast(Literal["approve", "deny"], a.decision), a.params_hash, a.at
            )
            for a in approvals
        ],
    )


async def acquire_lock(
    session: AsyncSession, request: RequestView, now: datetime, ttl: timedelta
) -> LockView | None:
    """Take or renew the target's lease for `request`; the holder when someone else has it."""
    values = {"expires_at": now + ttl}
    renewed = await session.execute(
        update(ResourceLock)
        .where(ResourceLock.resource == request.target, ResourceLock.request_id == request.id)
        .values(**values)
    )
    if int(renewed.rowcount or 0) == 1:  # type: ignore[attr-defined]
        return None
    owner = {
        "request_id": request.id,
        "owner_id": request.requester.id,
        "owner_name": request.requester.name,
        "action": request.action,
        "since": now,
        **values,
    }
    taken = await session.execute(
        update(ResourceLock)
        .where(ResourceLock.resource == request.target, ResourceLock.expires_at <= now)
        .values(**owner)
    )
    if int(taken.rowcount or 0) == 1:  # type: ignore[attr-defined]
        return None
    try:
        async with session.begin_nested():
            session.add(ResourceLock(resource=request.target, **owner))
        return None
    except IntegrityError:
        holder = await current_lock(session, request.target)
        assert holder is not None  # it existed a moment ago and only expiry removes it
        return holder


async def renew_lock(
    session: AsyncSession, resource: str, request_id: str, until: datetime
) -> None:
    await session.execute(
        update(ResourceLock)
        .where(ResourceLock.resource == resource, ResourceLock.request_id == request_id)
        .values(expires_at=until)
    )


async def release_lock(session: AsyncSession, resource: str, request_id: str) -> bool:
    """Release the lease if this request still holds it; a lease taken over is left alone."""
    done = await session.execute(
        delete(ResourceLock).where(
            ResourceLock.resource == resource, ResourceLock.request_id == request_id
        )
    )
    return int(done.rowcount or 0) == 1  # type: ignore[attr-defined]


async def requests_in(session: AsyncSession, states: Iterable[RequestState]) -> list[ActionRequest]:
    stmt = select(ActionRequest).where(ActionRequest.state.in_(tuple(states)))
    return list(await session.scalars(stmt.order_by(ActionRequest.created_at)))
