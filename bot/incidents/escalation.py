"""Escalation: an incident nobody acknowledged within its route's minutes mentions the
on-call again, and, where the route says so, triggers PagerDuty (Events API v2, with the
incident's ref as `dedup_key`, so a retry or a second replica changes nothing there).

PagerDuty is called outside any transaction: the transaction marks what to send
(`pagerduty_state`), `deliver_pagerduty` sends it and records the result, and the sweep
retries what an outage left unsent.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from bot import messages
from bot.audit import vocabulary as v
from bot.audit.actors import AUTOMATION
from bot.audit.writer import NewEntry
from bot.db.unit_of_work import writing
from bot.incidents import clients
from bot.incidents.incident_blocks import escalation_reply
from bot.incidents.models import TRIGGERED, Incident, Storm
from bot.incidents.opening import Mentions
from bot.incidents.routing import destination_named
from bot.incidents.thread import ThreadWriter, audit_target
from bot.outbox import Message
from bot.runtime import Runtime
from integrations.pagerduty import PagerDutyError, PagerDutyRejected

log = logging.getLogger(__name__)

BATCH = 100


def _next(rt: Runtime, now: datetime) -> datetime | None:
    repeat = rt.config.escalation.repeat_minutes
    return now + timedelta(minutes=repeat) if repeat else None


async def escalate_due(rt: Runtime) -> int:
    """Mention again every incident (and storm) unacknowledged past its time."""
    now = rt.clock()
    page = False
    async with writing(rt.sessions, reads_decide=True) as session:
        w = ThreadWriter(session, rt)
        mentions = Mentions(rt, session, now)
        incidents = list(
            await session.scalars(
                select(Incident)
                .where(Incident.next_escalation_at <= now, Incident.status == TRIGGERED)
                .order_by(Incident.id)
                .limit(BATCH)
                .with_for_update(skip_locked=True)  # ingest holds it: next sweep
            )
        )
        escalated: list[NewEntry] = []
        for incident in incidents:
            if incident.silenced_until is not None and incident.silenced_until > now:
                incident.next_escalation_at = incident.silenced_until
                continue
            destination = destination_named(rt.config, incident.route)
            who = await mentions.text(destination) or incident.mentions
            incident.escalations += 1
            incident.next_escalation_at = _next(rt, now)
            minutes = int((now - incident.opened_at).total_seconds() // 60)
            w.reply(incident, escalation_reply(who, messages.incident_escalated(who, minutes)))
            if destination.pagerduty and incident.pagerduty_state is None:
                incident.pagerduty_state = "trigger"
                page = True
            escalated.append(NewEntry(
                actor=AUTOMATION, action=v.INCIDENT_ESCALATED, target=audit_target(incident),
                outcome=v.ESCALATED, ref=incident.ref,
                params={"times": incident.escalations, "pagerduty": destination.pagerduty},
            ))  # fmt: skip
        # One append after the look-ups: the chain head is locked once, and only from here.
        await w.audit_many(escalated)
        storms = list(
            await session.scalars(
                select(Storm)
                .where(Storm.next_escalation_at <= now)
                .order_by(Storm.id)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
        )
        for storm in storms:
            storm.next_escalation_at = _next(rt, now)
            minutes = int((now - storm.started_at).total_seconds() // 60)
            text = messages.incident_escalated(storm.mentions, minutes)
            w.reply_to(storm.channel, storm.root_key, escalation_reply(storm.mentions, text))
        await w.finish()
    rt.wake_outbox()
    if page:
        await deliver_pagerduty(rt)
    return len(incidents) + len(storms)


async def deliver_pagerduty(rt: Runtime) -> int:
    """Send the queued PagerDuty events; returns how many PagerDuty took."""
    client = clients.pagerduty(rt)
    if client is None:
        return 0
    async with rt.sessions() as session:
        queued = list(
            await session.scalars(
                select(Incident)
                .where(Incident.pagerduty_state.in_(("trigger", "resolve")))
                .order_by(Incident.id)
                .limit(BATCH)
            )
        )
    sent = 0
    async with client:
        for incident in queued:
            action = incident.pagerduty_state
            try:
                if action == "trigger":
                    await client.trigger(
                        incident.ref,
                        f"[{incident.severity.upper()}] {incident.title}"
                        + (f" on {incident.service}" if incident.service else ""),
                        incident.severity,  # type: ignore[arg-type]
                        incident.service or "watchkeeper",
                        custom_details={"channel": incident.channel, "pages": incident.page_count},
                    )
                else:
                    await client.resolve(incident.ref)
            except PagerDutyRejected as exc:
                log.error("PagerDuty refused %s of %s: %s", action, incident.ref, exc.reason)
                await _record(rt, incident.id, str(action), "failed", exc.reason)
                continue
            except PagerDutyError as exc:
                log.warning(
                    "PagerDuty %s of %s failed (%s); retried later", action, incident.ref, exc
                )
                continue
            await _record(
                rt, incident.id, str(action), "sent" if action == "trigger" else "resolved"
            )
            sent += 1
    return sent


async def _record(
    rt: Runtime, incident_id: int, action: str, state: str, error: str | None = None
) -> None:
    async with writing(rt.sessions, reads_decide=True) as session:
        incident = await session.scalar(
            select(Incident).where(Incident.id == incident_id).with_for_update()
        )
        # Changed meanwhile (a resolve queued while the trigger was on its way): keep that.
        if incident is None or incident.pagerduty_state != action:
            return
        incident.pagerduty_state = state
        w = ThreadWriter(session, rt)
        if action == "trigger":
            text = (
                messages.pagerduty_triggered(incident.ref)
                if error is None
                else messages.pagerduty_failed(error)
            )
            w.reply(incident, Message(text=text))
            await w.audit(
                actor=AUTOMATION, action=v.INCIDENT_PAGED, target=audit_target(incident),
                outcome=v.FAILED if error else v.SUCCEEDED, ref=incident.ref,
                params={"dedup_key": incident.ref, "error": error},
            )  # fmt: skip
        await w.finish()
    rt.wake_outbox()
