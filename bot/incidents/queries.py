"""What `/incident` and the root's buttons read about incidents, without changing them.

Keyword-only functions over the runtime's sessions, each one read (no transaction);
`bot.incidents.service` holds the changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from bot.incidents.models import OPEN_STATES, Incident, PageRecord, Storm
from bot.runtime import Runtime


async def open_in_channel(rt: Runtime, *, channel: str, limit: int) -> list[int]:
    """Ids of the channel's open incidents, newest first, at most `limit`."""
    async with rt.sessions() as session:
        return list(
            await session.scalars(
                select(Incident.id)
                .where(Incident.channel == channel, Incident.status.in_(OPEN_STATES))
                .order_by(Incident.id.desc())
                .limit(limit)
            )
        )


@dataclass(frozen=True)
class OpenIncidents:
    total: int  # open incidents in all, of which `shown` are the newest
    shown: list[Incident]
    active_storms: list[Storm]  # every active storm, whatever the channel


async def open_incidents(rt: Runtime, *, channel: str | None, limit: int) -> OpenIncidents:
    """The open incidents of a channel (of every channel when None), newest first."""
    query = select(Incident).where(Incident.status.in_(OPEN_STATES))
    if channel is not None:
        query = query.where(Incident.channel == channel)
    async with rt.sessions() as session:
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
        shown = list(await session.scalars(query.order_by(Incident.id.desc()).limit(limit)))
        storms = list(
            await session.scalars(select(Storm).where(Storm.status == "active").order_by(Storm.id))
        )
    return OpenIncidents(int(total or 0), shown, storms)


async def service_to_repair(rt: Runtime, *, incident_id: int) -> str | None:
    """The service a repair suggested on the incident's root would act on; None when the
    incident is gone, resolved, or names no service (the button is stale)."""
    async with rt.sessions() as session:
        incident = await session.get(Incident, incident_id)
    if incident is None or not incident.service or not incident.is_open:
        return None
    return incident.service


async def services_of_incident(rt: Runtime, *, incident_id: int) -> set[str] | None:
    """The services attached to an incident: its own and those its pages name; None when
    there is no such incident (the selector's `incident=` term, docs/campaigns.md)."""
    async with rt.sessions() as session:
        incident = await session.get(Incident, incident_id)
        if incident is None:
            return None
        named = await session.scalars(
            select(PageRecord.service)
            .where(PageRecord.incident_id == incident_id, PageRecord.service.is_not(None))
            .distinct()
        )
        services = {s for s in named if s}
    if incident.service:
        services.add(incident.service)
    return services


async def mine(rt: Runtime, *, user: str, limit: int) -> list[Incident]:
    """Open incidents `user` acknowledged or is assigned, newest first (the App Home)."""
    stmt = (
        select(Incident)
        .where(
            Incident.status.in_(OPEN_STATES),
            (Incident.acknowledged_by == user) | (Incident.assignee == user),
        )
        .order_by(Incident.opened_at.desc())
        .limit(limit)
    )
    async with rt.sessions() as session:
        return list(await session.scalars(stmt))


async def open_incident_of(rt: Runtime, *, service: str) -> Incident | None:
    """The newest open incident about `service` that has a thread of its own, if any."""
    async with rt.sessions() as session:
        return await session.scalar(
            select(Incident)
            .where(
                Incident.service == service,
                Incident.status.in_(OPEN_STATES),
                Incident.has_thread.is_(True),
            )
            .order_by(Incident.id.desc())
            .limit(1)
        )
