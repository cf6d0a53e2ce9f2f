"""Silences: from a button or `/incident silence 2h`, through Alertmanager's API v2 when the
incident's alerts come from Alertmanager (so it stops sending them), else kept by the bot
alone (the thread stays quiet and escalation waits). Listed in the thread when created,
announced there when they end.

The Alertmanager call is made before the transaction and never inside it: a silence
Alertmanager refused is an answer to the person, not a half-written row.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

from sqlalchemy import select

from bot import messages
from bot.audit import vocabulary as v
from bot.audit.actors import AUTOMATION, Actor
from bot.block_kit import slack_date
from bot.db.unit_of_work import writing
from bot.incidents import clients
from bot.incidents.models import Incident, Silence
from bot.incidents.service import locked_incident
from bot.incidents.thread import ThreadWriter, audit_target
from bot.outbox import Message
from bot.registry import CommandError
from bot.runtime import Runtime
from integrations.alertmanager import AlertmanagerError, SilenceNotFound

_DURATION = re.compile(r"(\d{1,4})([mhd])")
_UNITS = {"m": 60, "h": 3600, "d": 86400}
BATCH = 100


def parse_duration(text: str, max_hours: int) -> timedelta:
    match = _DURATION.fullmatch(text.strip().lower())
    if not match:
        raise CommandError(messages.silence_duration_help(max_hours))
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if not 0 < seconds <= max_hours * 3600:
        raise CommandError(messages.silence_duration_help(max_hours))
    return timedelta(seconds=seconds)


def matchers_for(rt: Runtime, incident: Incident) -> dict[str, str]:
    """Equality matchers on the incident's grouping labels: exactly its group, no wider."""
    labels: dict[str, str] = json.loads(incident.labels or "{}")
    found = {k: labels[k] for k in rt.config.grouping.keys if labels.get(k)}
    if not found and labels.get("alertname"):
        found["alertname"] = labels["alertname"]
    return found


def _describe(matchers: dict[str, str]) -> str:
    return ", ".join(f'{k}="{value}"' for k, value in sorted(matchers.items())) or "this incident"


def narrowing_labels(rt: Runtime, incident: Incident) -> dict[str, str]:
    """The incident's other labels: adding one of them to the matchers narrows the
    silence (a silence is never made wider than the incident's group)."""
    labels: dict[str, str] = json.loads(incident.labels or "{}")
    base = matchers_for(rt, incident)
    return {k: v for k, v in sorted(labels.items()) if k not in base and v}


async def silence(
    rt: Runtime,
    *,
    incident_id: int,
    user: str,
    duration: timedelta,
    narrow_to: tuple[str, ...] = (),
) -> str:
    """Silence the incident's alerts for `duration`; `narrow_to` names more of its own
    labels to match on (others are ignored: nothing typed widens a silence)."""
    async with rt.sessions() as session:
        incident = await session.get(Incident, incident_id)
    if incident is None:
        raise CommandError(messages.no_such_incident(incident_id))
    if not incident.is_open:
        return messages.silence_resolved(incident_id)
    now = rt.clock()
    ends = now + duration
    extra = narrowing_labels(rt, incident)
    matchers = {**matchers_for(rt, incident), **{k: extra[k] for k in narrow_to if k in extra}}
    external: str | None = None
    client = clients.alertmanager(rt)
    if client is not None and incident.source == "alertmanager" and matchers:
        comment = messages.silence_comment(incident_id, incident.title)
        try:
            async with client:
                external = await client.create_silence(matchers, now, ends, user, comment)
        except (AlertmanagerError, ValueError) as exc:
            return messages.silence_failed(str(exc))
    async with writing(rt.sessions, reads_decide=True) as session:
        incident = await locked_incident(session, incident_id)
        session.add(
            Silence(
                incident_id=incident.id, external_id=external, matchers=json.dumps(matchers),
                starts_at=now, ends_at=ends, created_by=user, state="active",
                comment=messages.silence_comment(incident.id, incident.title)[:500],
            )
        )  # fmt: skip
        if incident.silenced_until is None or incident.silenced_until < ends:
            incident.silenced_until = ends
        if incident.next_escalation_at is not None and incident.next_escalation_at < ends:
            incident.next_escalation_at = ends
        w = ThreadWriter(session, rt)
        text = messages.silence_created(user, slack_date(ends), _describe(matchers), external)
        w.reply(incident, Message(text=text))
        await w.refresh_incident(incident)
        await w.audit(
            actor=Actor.slack(user), action=v.SILENCE_CREATED, target=audit_target(incident),
            outcome=v.SUCCEEDED, ref=incident.ref,
            params={"matchers": matchers, "ends_at": ends.isoformat(), "alertmanager": external},
        )  # fmt: skip
        await w.finish()
    rt.wake_outbox()
    return messages.silence_answer(incident_id, slack_date(ends))


async def lift(rt: Runtime, *, incident_id: int, user: str) -> str:
    """End the incident's active silences now (`/incident silence off`)."""
    async with rt.sessions() as session:
        active = list(
            await session.scalars(
                select(Silence).where(Silence.incident_id == incident_id, Silence.state == "active")
            )
        )
    if not active:
        return messages.no_silences(incident_id)
    client = clients.alertmanager(rt)
    if client is not None:
        async with client:
            for item in active:
                if item.external_id is None:
                    continue
                try:
                    await client.expire_silence(item.external_id)
                except SilenceNotFound:
                    pass  # already gone at Alertmanager: what we wanted
                except AlertmanagerError as exc:
                    return messages.silence_failed(str(exc))
    ids = [s.id for s in active]
    async with writing(rt.sessions, reads_decide=True) as session:
        incident = await locked_incident(session, incident_id)
        w = ThreadWriter(session, rt)
        await _end(w, incident, ids, state="lifted", by=user)
        await w.finish()
    rt.wake_outbox()
    return messages.silence_lifted_answer(incident_id)


async def _end(
    w: ThreadWriter, incident: Incident, silence_ids: list[int], *, state: str, by: str | None
) -> None:
    rows = list(
        await w.session.scalars(
            select(Silence).where(Silence.id.in_(silence_ids), Silence.state == "active")
        )
    )
    if not rows:
        return
    now = w.rt.clock()
    for row in rows:
        row.state = state
        row.ended_by = by
    remaining = await w.session.scalar(
        select(Silence.ends_at)
        .where(Silence.incident_id == incident.id, Silence.state == "active", Silence.ends_at > now)
        .order_by(Silence.ends_at.desc())
        .limit(1)
    )
    incident.silenced_until = remaining
    w.reply(incident, Message(text=messages.silence_ended(by, lifted=state == "lifted")))
    await w.refresh_incident(incident)
    await w.audit(
        actor=Actor.slack(by) if by else AUTOMATION, action=v.SILENCE_EXPIRED,
        target=audit_target(incident), outcome=v.EXPIRED if state == "expired" else state,
        ref=incident.ref, params={"silences": [r.id for r in rows]},
    )  # fmt: skip


async def expire_due(rt: Runtime) -> int:
    """The sweep: silences past their end are marked expired and announced in the thread."""
    now = rt.clock()
    async with writing(rt.sessions, reads_decide=True) as session:
        due = list(
            await session.scalars(
                select(Silence)
                .where(Silence.state == "active", Silence.ends_at <= now)
                .order_by(Silence.id)
                .limit(BATCH)
            )
        )
        by_incident: dict[int, list[int]] = {}
        for row in due:
            if row.incident_id is not None:
                by_incident.setdefault(row.incident_id, []).append(row.id)
            else:
                row.state = "expired"
        w = ThreadWriter(session, rt)
        for incident_id in sorted(by_incident):
            incident = await locked_incident(session, incident_id)
            await _end(w, incident, by_incident[incident_id], state="expired", by=None)
        await w.finish()
    rt.wake_outbox()
    return len(due)


async def active_silences(rt: Runtime, incident_id: int) -> list[Silence]:
    async with rt.sessions() as session:
        return list(
            await session.scalars(
                select(Silence)
                .where(Silence.incident_id == incident_id, Silence.state == "active")
                .order_by(Silence.ends_at)
            )
        )


def describe_silence(row: Silence, now: datetime) -> str:
    matchers: dict[str, str] = json.loads(row.matchers)
    return messages.silence_line(
        row.id, row.created_by, slack_date(row.ends_at), _describe(matchers), row.external_id
    )
