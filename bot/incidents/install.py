"""How the incidents core plugs into the bot: the page sink intake calls, the membership
question guarded actions ask, the scheduled sweeps and the handoff's parts (open
incidents, silences that outlive the shift). Its command group and buttons live in
`commands/incident.py`."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import messages
from bot.db.unit_of_work import writing
from bot.incidents import escalation, followup, silences, storms
from bot.incidents.incident_blocks import headline, who
from bot.incidents.ingest import ingest
from bot.incidents.membership import incident_channel, incident_member
from bot.incidents.models import OPEN_STATES, Incident, PageDelivery, Silence
from bot.incidents.thread import ThreadWriter
from bot.parts import AppParts, Job
from bot.runtime import Runtime

# PagerDuty retries a webhook for hours at most; a week of delivery ids is ample.
DELIVERY_MEMORY = timedelta(days=7)
HANDOFF_LINES = 8


# How often open roots' "Fleet now" is re-read (and edited when it changed).
FLEET_WATCH_SECONDS = 60


def install(parts: AppParts) -> None:
    parts.hooks.page_sink = ingest
    # Guarded actions whose policy says `require_incident` ask us who is in one.
    parts.hooks.incident_membership = incident_member
    # The permission step keeps incident commands and buttons in the incident's channel.
    parts.hooks.incident_channel = incident_channel
    parts.handoff_sections.extend((open_incidents_section, silences_section))
    parts.jobs.extend(
        (
            Job("incidents-escalation", 30, escalation.escalate_due),
            Job("incidents-silences", 30, silences.expire_due),
            Job("incidents-storms", 5, sweep_storms),
            Job("incidents-fleet-state", 20, followup.refresh_due),
            Job("incidents-fleet-watch", FLEET_WATCH_SECONDS, followup.watch_open),
            Job("incidents-pagerduty", 60, escalation.deliver_pagerduty),
            Job("incidents-forget-deliveries", 3600, forget_deliveries),
        )
    )


async def sweep_storms(rt: Runtime) -> int:
    """Storms gone quiet closed, digests due posted, and anything ingest deferred said."""
    await followup.announce_deferred(rt)
    async with writing(rt.sessions, reads_decide=True) as session:
        w = ThreadWriter(session, rt)
        posted = await storms.sweep(w, rt.clock())
        await w.finish()
    rt.wake_outbox()
    return posted


async def forget_deliveries(rt: Runtime) -> None:
    async with writing(rt.sessions, reads_decide=True) as session:
        await session.execute(
            delete(PageDelivery).where(PageDelivery.received_at < rt.clock() - DELIVERY_MEMORY)
        )


async def open_incidents_section(
    session: AsyncSession, at: datetime
) -> tuple[str, list[str]] | None:
    """For the on-call handoff: what is still open when the shift changes."""
    count = await session.scalar(select(func.count()).where(Incident.status.in_(OPEN_STATES)))
    if not count:
        return None
    rows = await session.scalars(
        select(Incident)
        .where(Incident.status.in_(OPEN_STATES))
        .order_by(Incident.id.desc())
        .limit(HANDOFF_LINES)
    )
    lines = [
        f"#{i.id} {headline(i)}" + (f" · {who(i.acknowledged_by)}" if i.acknowledged_by else "")
        for i in rows
    ]
    if count > len(lines):
        lines.append(f"… and {count - len(lines)} more")
    return f"Open incidents ({count})", lines


async def silences_section(session: AsyncSession, at: datetime) -> tuple[str, list[str]] | None:
    """For the on-call handoff: silences still active after the shift changes."""
    live = (Silence.state == "active", Silence.ends_at > at)
    count = await session.scalar(select(func.count()).select_from(Silence).where(*live))
    if not count:
        return None
    rows = await session.scalars(
        select(Silence).where(*live).order_by(Silence.ends_at).limit(HANDOFF_LINES)
    )
    lines = [
        silences.describe_silence(s, at)
        + (f" · incident #{s.incident_id}" if s.incident_id is not None else "")
        for s in rows
    ]
    if count > len(lines):
        lines.append(messages.more_lines(count - len(lines)))
    return messages.handoff_silences_title(count), lines
