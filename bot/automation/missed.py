"""Pages a replica never decided: it died between ingest's commit and automation's
decision (the follow-up task went with it). The leader looks back a few minutes for firing
pages of open incidents that a runbook matches and that have no decision row, and decides
them now; the decision's UNIQUE (runbook, page) row keeps a page from being decided twice
when the live path was only slow.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.automation import runner
from bot.automation.models import AutomationRun
from bot.incidents.models import OPEN_STATES, Incident, PageRecord
from bot.runtime import Runtime

# How far back: an incident older than this has had people look at it (escalation).
LOOK_BACK = timedelta(minutes=10)
# The live path decides within a second or two; younger pages are left to it.
GRACE = timedelta(seconds=20)
BATCH = 200


async def decide_missed(rt: Runtime) -> int:
    """Decide the recent pages no replica decided; returns how many were decided now."""
    if not (rt.config.automation.enabled and rt.config.runbooks):
        return 0
    now = rt.clock()
    async with rt.sessions() as session:
        pages = await session.scalars(
            select(PageRecord)
            .join(Incident, Incident.id == PageRecord.incident_id)
            .outerjoin(AutomationRun, AutomationRun.page_id == PageRecord.id)
            .where(
                Incident.status.in_(OPEN_STATES),
                PageRecord.status == "firing",
                PageRecord.service.is_not(None),
                PageRecord.received_at >= now - LOOK_BACK,
                PageRecord.received_at <= now - GRACE,
                AutomationRun.id.is_(None),
            )
            .order_by(PageRecord.id)
            .limit(BATCH)
        )
        undecided = [
            page.id
            for page in pages
            if runner.runbook_and_params(rt, runner.labels_of(page)) is not None
        ]
    return await runner.handle_pages(rt, undecided) if undecided else 0
