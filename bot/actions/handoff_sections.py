"""The actions area's part of the on-call handoff: what the next shift inherits.

- Locks held at the handoff: a lease on a service that someone (or an operation still
  running) holds past the shift change.
- Maintenance ahead: `maintenance schedule at=...` that succeeded (the fleet has it
  scheduled) for a time after the handoff, the newest per service; and `maintenance`
  requests of either mode still waiting for confirmation or approval, or running.
  Scheduled maintenance lives only in the fleet's `maintenance_at` and in these request
  rows; the rows are what the bot can read inside the handoff's transaction.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import messages
from bot.actions.lifecycle import PENDING, RUNNING, RequestState
from bot.actions.models import ActionRequest
from bot.actions.store import active_locks
from bot.mentions import mention_user

MAX_LINES = 8
# Maintenance is scheduled days or weeks ahead; requests older than this are not read.
MAINTENANCE_LOOK_BACK = timedelta(days=90)


def _who(user_id: str) -> str:
    return mention_user(user_id)


def _section(title: str, lines: list[str]) -> tuple[str, list[str]]:
    shown = lines[:MAX_LINES]
    if len(lines) > MAX_LINES:
        shown.append(messages.more_lines(len(lines) - MAX_LINES))
    return title, shown


async def locks_section(session: AsyncSession, at: datetime) -> tuple[str, list[str]] | None:
    locks = await active_locks(session, at)
    if not locks:
        return None
    lines = [
        messages.handoff_lock_line(
            lock.resource,
            lock.action,
            _who(lock.owner_id),
            messages.at_utc(lock.since),
            messages.at_utc(lock.expires_at),
        )
        for lock in locks
    ]
    return _section(messages.handoff_locks_title(len(locks)), lines)


def _scheduled_for(row: ActionRequest) -> datetime | None:
    params = json.loads(row.params)
    if params.get("mode") != "schedule" or not isinstance(params.get("at"), str):
        return None
    return datetime.fromisoformat(params["at"])


async def maintenance_section(session: AsyncSession, at: datetime) -> tuple[str, list[str]] | None:
    rows = await session.scalars(
        select(ActionRequest)
        .where(
            ActionRequest.action == "maintenance",
            ActionRequest.state.in_(PENDING | RUNNING | {RequestState.SUCCEEDED}),
            ActionRequest.created_at >= at - MAINTENANCE_LOOK_BACK,
        )
        .order_by(ActionRequest.created_at)
    )
    scheduled: dict[str, tuple[datetime, ActionRequest]] = {}
    waiting: list[str] = []
    for row in rows:
        when = _scheduled_for(row)
        if row.state == RequestState.SUCCEEDED:
            if when is not None:
                scheduled[row.target] = (when, row)  # a newer schedule replaces an older one
            continue
        if when is not None and when <= at:
            continue  # asked for a time already past: nothing for the next shift
        state = messages.MAINTENANCE_STATES.get(row.state, row.state)
        at_text = messages.at_utc(when) if when is not None else None
        waiting.append(
            messages.handoff_maintenance_waiting(row.target, at_text, _who(row.requester_id), state)
        )
    ahead = sorted((p for p in scheduled.values() if p[0] > at), key=lambda p: p[0])
    lines = [
        messages.handoff_maintenance_scheduled(r.target, messages.at_utc(w), _who(r.requester_id))
        for w, r in ahead
    ] + waiting
    if not lines:
        return None
    return _section(messages.handoff_maintenance_title(len(lines)), lines)


async def needs_review_section(session: AsyncSession, at: datetime) -> tuple[str, list[str]] | None:
    rows = list(
        await session.scalars(
            select(ActionRequest)
            .where(
                ActionRequest.review_asked_at.is_not(None),
                ActionRequest.review_asked_at <= at,
                ActionRequest.reviewed_at.is_(None),
            )
            .order_by(ActionRequest.review_asked_at)
        )
    )
    if not rows:
        return None
    lines = [
        messages.handoff_review_line(
            row.requester_id,
            row.action,
            row.target,
            row.id,
            messages.at_utc(row.review_asked_at),
        )
        for row in rows
    ]
    return _section(messages.handoff_review_title(len(rows)), lines)
