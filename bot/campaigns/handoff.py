"""The campaigns' part of the on-call handoff: those running, paused or halted now, and
those that ended during the shift that ends (docs/campaigns.md)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import messages as m
from bot.campaigns import store
from bot.campaigns.models import LIVE, Campaign

MAX_LINES = 8
# What "during the shift" reaches back to, for campaigns that ended.
LOOK_BACK = timedelta(hours=24)


async def campaigns_section(session: AsyncSession, at: datetime) -> tuple[str, list[str]] | None:
    rows = list(
        await session.scalars(
            select(Campaign)
            .where(
                or_(
                    Campaign.state.in_([s.value for s in LIVE]),
                    Campaign.finished_at >= at - LOOK_BACK,
                )
            )
            .order_by(Campaign.created_at.desc())
            .limit(MAX_LINES)
        )
    )
    if not rows:
        return None
    lines = []
    for c in rows:
        n = await store.counts(session, c.id)
        lines.append(m.campaign_list_line(c.id, c.action, c.selector, c.state, n.ended, n.total))
    return m.HANDOFF_CAMPAIGNS, lines
