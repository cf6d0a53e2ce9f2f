"""What intake tells monitoring: pages counted per source, and, for the sources expected
to send, when they last did (in the database, since any replica may take a delivery)."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import update

from bot.db.unit_of_work import writing
from bot.monitoring.models import IntakeSource
from bot.runtime import Runtime

log = logging.getLogger(__name__)

# Silence is measured in minutes: one write per source this often is plenty, and keeps a
# burst of deliveries from writing the same row again and again.
RESOLUTION = timedelta(seconds=15)


def refused(rt: Runtime, source: str, reason: str) -> None:
    rt.metrics.intake_refused.labels(source, reason).inc()


async def delivered(rt: Runtime, source: str, pages: int) -> None:
    """A delivery from `source` was accepted with `pages` pages (0 is still a sign of life)."""
    rt.metrics.pages_received.labels(source).inc(pages)
    if source not in rt.config.monitoring.expected_sources:
        return
    now = rt.clock()
    try:
        async with writing(rt.sessions) as session:
            moved = await session.execute(
                update(IntakeSource)
                .where(
                    IntakeSource.source == source, IntakeSource.last_delivery_at < now - RESOLUTION
                )
                .values(last_delivery_at=now)
            )
            if moved.rowcount == 0 and await session.get(IntakeSource, source) is None:  # type: ignore[attr-defined]
                session.add(IntakeSource(source=source, last_delivery_at=now))
    except Exception as exc:  # the pages are stored; a missed heartbeat must not fail intake
        log.warning("could not record a delivery from %s: %s", source, type(exc).__name__)
