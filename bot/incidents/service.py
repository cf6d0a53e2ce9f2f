"""What people do to incidents: acknowledge, resolve, note, assign, open by hand.

Module-level, keyword-only functions shared by `/incident`, the buttons and @mentions.
Each is one transaction: the incident row locked, changed, its thread told (a reply and
the root edited in place, through the outbox) and an audit row written, together.
Each returns the short answer for the person who asked.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import messages
from bot.audit import vocabulary as v
from bot.audit.actors import Actor
from bot.db.unit_of_work import writing
from bot.incidents import followup, storms
from bot.incidents.grouping import hash_key
from bot.incidents.models import (
    ACKNOWLEDGED,
    OPEN_STATES,
    RESOLVED,
    TRIGGERED,
    Incident,
    IncidentNote,
    Storm,
)
from bot.incidents.thread import ThreadWriter, audit_target, root_message
from bot.log_context import bound
from bot.outbox import Message
from bot.registry import CommandError
from bot.runtime import Runtime

Change = Callable[[ThreadWriter, Incident, datetime], Awaitable[str]]


async def locked_incident(session: AsyncSession, incident_id: int) -> Incident:
    incident = await session.scalar(
        select(Incident).where(Incident.id == incident_id).with_for_update()
    )
    if incident is None:
        raise CommandError(messages.no_such_incident(incident_id))
    return incident


async def _change(rt: Runtime, incident_id: int, change: Change) -> str:
    with bound(incident_id=str(incident_id)):
        return await _changed(rt, incident_id, change)


async def _changed(rt: Runtime, incident_id: int, change: Change) -> str:
    async with writing(rt.sessions, reads_decide=True) as session:
        incident = await locked_incident(session, incident_id)
        before = [u for u in (incident.acknowledged_by, incident.assignee) if u]
        w = ThreadWriter(session, rt)
        answer = await change(w, incident, rt.clock())
        await w.finish()
        concerned = [u for u in (incident.acknowledged_by, incident.assignee) if u]
    rt.wake_outbox()
    # "My open incidents" of who holds it (and of who held it before this change).
    rt.homes_changed([*concerned, *before])
    return answer


async def _show(w: ThreadWriter, incident: Incident) -> None:
    await w.refresh_incident(incident)
    if incident.storm_id is not None:
        storm = await w.session.scalar(
            select(Storm).where(Storm.id == incident.storm_id).with_for_update()
        )
        if storm is not None:
            await storms.show(w, storm)


def _actor(user: str) -> Actor:
    return Actor.slack(user)


async def _acknowledge(
    w: ThreadWriter, incident: Incident, now: datetime, user: str, *, quiet: bool = False
) -> bool:
    if incident.status != TRIGGERED:
        return False
    incident.status = ACKNOWLEDGED
    incident.acknowledged_at = now
    incident.acknowledged_by = user
    incident.next_escalation_at = None
    incident.updated_at = now
    if not quiet:
        w.reply(incident, Message(text=messages.incident_acknowledged(user, incident.id)))
    await w.audit(
        actor=_actor(user), action=v.INCIDENT_ACKNOWLEDGED, target=audit_target(incident),
        outcome=v.ACKNOWLEDGED, ref=incident.ref,
    )  # fmt: skip
    return True


async def _resolve(
    w: ThreadWriter, incident: Incident, now: datetime, user: str, *, quiet: bool = False
) -> bool:
    if incident.status not in OPEN_STATES:
        return False
    incident.status = RESOLVED
    incident.open_key = None
    incident.resolved_at = now
    incident.resolved_by = user
    incident.next_escalation_at = None
    incident.updated_at = now
    if incident.service:  # the fleet at resolution is read after commit (followup)
        incident.fleet_due_at = now
    if incident.pagerduty_state in ("trigger", "sent"):
        incident.pagerduty_state = "resolve"
    if not quiet:
        w.reply(incident, Message(text=messages.incident_resolved(user, incident.id)))
    await w.audit(
        actor=_actor(user), action=v.INCIDENT_RESOLVED, target=audit_target(incident),
        outcome=v.RESOLVED, ref=incident.ref, params={"firing": incident.firing_count},
    )  # fmt: skip
    return True


async def acknowledge(rt: Runtime, *, incident_id: int, user: str) -> str:
    async def change(w: ThreadWriter, incident: Incident, now: datetime) -> str:
        if not await _acknowledge(w, incident, now, user):
            return messages.incident_not_triggered(incident.id, incident.status)
        await _show(w, incident)
        return messages.incident_acknowledged_answer(incident.id)

    return await _change(rt, incident_id, change)


async def resolve(rt: Runtime, *, incident_id: int, user: str) -> str:
    pagerduty = resolved = False

    async def change(w: ThreadWriter, incident: Incident, now: datetime) -> str:
        nonlocal pagerduty, resolved
        if not await _resolve(w, incident, now, user):
            return messages.incident_already_resolved(incident.id)
        pagerduty, resolved = incident.pagerduty_state == "resolve", True
        await _show(w, incident)
        return messages.incident_resolved_answer(incident.id)

    answer = await _change(rt, incident_id, change)
    if resolved:
        followup.after_resolve(rt, [incident_id])
    if pagerduty:
        followup.kick_pagerduty(rt)
    return answer


async def add_note(rt: Runtime, *, incident_id: int, user: str, text: str) -> str:
    async def change(w: ThreadWriter, incident: Incident, now: datetime) -> str:
        w.session.add(
            IncidentNote(incident_id=incident.id, at=now, author=user, kind="note", text=text)
        )
        w.reply(incident, Message(text=messages.incident_note(user, text)))
        await w.audit(
            actor=_actor(user), action=v.INCIDENT_NOTED, target=audit_target(incident),
            outcome=v.NOTED, ref=incident.ref, params={"text": text},
        )  # fmt: skip
        return messages.incident_note_answer(incident.id)

    return await _change(rt, incident_id, change)


async def assign(rt: Runtime, *, incident_id: int, user: str, assignee: str) -> str:
    async def change(w: ThreadWriter, incident: Incident, now: datetime) -> str:
        incident.assignee = assignee
        incident.updated_at = now
        w.session.add(
            IncidentNote(incident_id=incident.id, at=now, author=user, kind="assign", text=assignee)
        )
        w.reply(incident, Message(text=messages.incident_assigned(user, assignee)))
        await w.refresh_incident(incident)
        await w.audit(
            actor=_actor(user), action=v.INCIDENT_ASSIGNED, target=audit_target(incident),
            outcome=v.ASSIGNED, ref=incident.ref, params={"assignee": assignee},
        )  # fmt: skip
        return messages.incident_assigned_answer(incident.id, assignee)

    return await _change(rt, incident_id, change)


async def open_manual(
    rt: Runtime, *, title: str, user: str, channel: str, message_link: str | None = None
) -> Incident:
    """`/incident new <title>`: an incident no alert opened, in the caller's channel; from
    the message shortcut, `message_link` is the message's permalink (checked by the caller),
    linked in the thread and kept in the audit row."""
    now = rt.clock()
    # Its own group, never joined by pages; open_key stays NULL (no grouping race).
    group = f"manual:{uuid.uuid4().hex}"
    async with writing(rt.sessions, reads_decide=True) as session:
        incident = Incident(
            group_hash=hash_key(group), group_key=group, open_key=None, status=TRIGGERED,
            title=title[:300], severity="high", source="slack", summary="", labels="{}",
            channel=channel, route="manual", mentions="", page_count=0, firing_count=0,
            opened_at=now, updated_at=now, opened_by=user, reopened_count=0, has_thread=True,
            escalations=0,
        )  # fmt: skip
        session.add(incident)
        await session.flush()
        w = ThreadWriter(session, rt)
        w.post_root(incident, root_message(rt, incident))
        params = {"title": incident.title, "by": "hand"}
        if message_link is not None:
            w.reply(incident, Message(text=messages.incident_from_message_note(message_link)))
            params.update(by="message", message=message_link)
        await w.audit(
            actor=_actor(user), action=v.INCIDENT_OPENED, target=audit_target(incident),
            outcome=v.TRIGGERED, ref=incident.ref, params=params,
        )  # fmt: skip
        await w.finish()
    rt.wake_outbox()
    return incident


async def storm_change(rt: Runtime, *, storm_id: int, user: str, resolve_all: bool) -> str:
    """Acknowledge (or resolve) every open incident of a storm, one audit row each."""
    async with writing(rt.sessions, reads_decide=True) as session:
        storm = await session.scalar(select(Storm).where(Storm.id == storm_id).with_for_update())
        if storm is None:
            raise CommandError(messages.no_such_storm(storm_id))
        w = ThreadWriter(session, rt)
        now = rt.clock()
        wanted = OPEN_STATES if resolve_all else (TRIGGERED,)
        incidents = await session.scalars(
            select(Incident)
            .where(Incident.storm_id == storm_id, Incident.status.in_(wanted))
            .order_by(Incident.id)
            .with_for_update()
        )
        changed, pagerduty = 0, False
        resolved: list[int] = []
        for incident in incidents:
            # Folded incidents speak through the storm: one reply below, not one each.
            step = _resolve if resolve_all else _acknowledge
            done = await step(w, incident, now, user, quiet=not incident.has_thread)
            if done and incident.has_thread:
                await w.refresh_incident(incident)
            changed += done
            pagerduty |= incident.pagerduty_state == "resolve"
            if done and resolve_all:
                resolved.append(incident.id)
        if not resolve_all:
            storm.acknowledged_by = user
        storm.next_escalation_at = None
        text = messages.storm_changed(user, changed, resolved=resolve_all)
        w.reply_to(storm.channel, storm.root_key, Message(text=text))
        await storms.show(w, storm)
        await w.finish()
    rt.wake_outbox()
    followup.after_resolve(rt, resolved)
    if pagerduty:
        followup.kick_pagerduty(rt)
    return text
