"""Reading recent audit entries for people (`/audit recent`): newest first, a page at a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.audit.models import AuditEntry
from bot.runtime import Runtime

MAX_PAGE = 50


@dataclass(frozen=True)
class RecentQuery:
    """Entries by one actor (id or display name) or about one target; older than `before`."""

    actor: str | None = None
    actor_name: str | None = None
    target: str | None = None
    limit: int = 10
    before: int | None = None


@dataclass(frozen=True)
class Page:
    entries: Sequence[AuditEntry]
    # The seq to pass as `before` for the next (older) page; None on the last page.
    older: int | None


async def recent_page(rt: Runtime, query: RecentQuery) -> Page:
    """`recent_entries` in a read-only session of its own (`/audit recent`)."""
    async with rt.sessions() as session:
        return await recent_entries(session, query)


async def recent_entries(session: AsyncSession, query: RecentQuery) -> Page:
    limit = max(1, min(query.limit, MAX_PAGE))
    stmt = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit + 1)
    if query.actor is not None:
        stmt = stmt.where(AuditEntry.actor == query.actor)
    if query.actor_name is not None:
        stmt = stmt.where(AuditEntry.actor_name == query.actor_name)
    if query.target is not None:
        stmt = stmt.where(AuditEntry.target == query.target)
    if query.before is not None:
        stmt = stmt.where(AuditEntry.seq < query.before)
    found = list((await session.scalars(stmt)).all())
    page = found[:limit]
    return Page(page, page[-1].seq if len(found) > limit else None)
