"""A delivery's new pages applied inside ingest's transaction: the state the planner needs
loaded and locked, `plan_delivery` asked (bot.incidents.ingest_plan), and its plan
written: incident and storm rows, thread messages through the outbox, audit rows.

Locks are taken in one order: the incidents touched, in one statement in id order (two
transactions never lock the same rows crosswise); then the storms of the new incidents'
(channel, storm key) (bot.incidents.storms); a new storm's and a new incident's UNIQUE
`open_key` at their flush (a lost race retries); then the storms of the incidents joined.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from bot.audit.actors import AUTOMATION
from bot.audit.writer import NewEntry
from bot.incidents import storms
from bot.incidents.ingest_plan import plan_delivery
from bot.incidents.ingest_plan_types import (
    AuditNote,
    DeliveryState,
    IncidentLocks,
    IncidentRef,
    IncidentState,
    IngestPlan,
    StormRef,
    StormState,
)
from bot.incidents.models import RESOLVED, Incident, PageRecord, Storm
from bot.incidents.opening import Mentions, draft_incident, reopen
from bot.incidents.page_assignment import incidents_to_lock, pages_opening, storm_pairs
from bot.incidents.pagestore import AlertKey, Counterpart, Identity, Prepared
from bot.incidents.thread import ThreadWriter, audit_target, root_message
from bot.runtime import Runtime


@dataclass
class Outcome:
    """What one ingest did, and what it leaves to follow-ups once committed."""

    new_pages: int = 0
    wrote: bool = False
    refresh: list[int] = field(default_factory=list)
    pagerduty: bool = False
    announce: bool = False
    # New firing pages that joined an incident (for the page follow-ups, e.g. automation).
    firing_pages: list[int] = field(default_factory=list)


async def apply_delivery(
    w: ThreadWriter,
    fresh: list[Prepared],
    earlier: dict[AlertKey, list[Counterpart]],
    page_ids: Mapping[Identity, int],
    now: datetime,
) -> Outcome:
    """Bring the incidents of the delivery's new pages (stored first here) up to date."""
    rt, session = w.rt, w.session
    locks = incidents_to_lock(
        fresh, earlier, now=now, reopen_minutes=rt.config.grouping.reopen_minutes
    )
    rows = await _lock_incidents(session, locks)
    incidents = tuple(_state_of(row) for row in rows.values())
    opening = pages_opening(fresh, earlier=earlier, incidents=incidents, now=now)
    mentions = await _mentions(rt, session, opening, now)
    config = rt.config.storms
    active, recent = await storms.lock_for_delivery(
        session, storm_pairs(opening, config), now=now, config=config
    )
    state = DeliveryState(
        page_ids=page_ids,
        earlier=earlier,
        incidents=incidents,
        mentions=mentions,
        storms=tuple(StormState(s.id, s.channel, s.storm_key, s.last_incident_at) for s in active),
        recent=recent,
    )
    plan = plan_delivery(fresh, state, now=now, storms=config)
    written = _Rows({ref: row for ref, row in rows.items()}, {s.id: s for s in active})
    await _write_rows(w, plan, written, now)
    await _write_messages(w, plan, written)
    await w.audit_many([_entry(note, written) for note in plan.audit])
    follow = plan.follow_ups
    return Outcome(
        new_pages=len(fresh),
        refresh=[written.incidents[ref].id for ref in follow.refresh],
        pagerduty=follow.pagerduty,
        announce=follow.announce,
        firing_pages=list(follow.firing_pages),
    )


async def _lock_incidents(session: AsyncSession, locks: IncidentLocks) -> dict[int, Incident]:
    wanted: list[ColumnElement[bool]] = [
        Incident.open_key.in_(sorted(locks.open_keys)),
        Incident.id.in_(sorted(locks.ids)),
    ]
    if locks.resolved_since is not None:
        wanted.append(
            and_(
                Incident.group_hash.in_(sorted(locks.reopen_groups)),
                Incident.resolved_at >= locks.resolved_since,
            )
        )
    rows = await session.scalars(
        select(Incident).where(or_(*wanted)).order_by(Incident.id).with_for_update()
    )
    return {row.id: row for row in rows}


def _state_of(row: Incident) -> IncidentState:
    return IncidentState(
        id=row.id, group_hash=row.group_hash, open_key=row.open_key, status=row.status,
        severity=row.severity, source=row.source, channel=row.channel, opened_at=row.opened_at,
        resolved_at=row.resolved_at, page_count=row.page_count, firing_count=row.firing_count,
        reopened_count=row.reopened_count, has_thread=row.has_thread, storm_key=row.storm_key,
        storm_id=row.storm_id, silenced_until=row.silenced_until,
        pagerduty_state=row.pagerduty_state,
    )  # fmt: skip


async def _mentions(
    rt: Runtime, session: AsyncSession, opening: Sequence[Prepared], now: datetime
) -> dict[str, str]:
    """Whom each new incident mentions. A page automation will handle opens its incident
    quietly: a person is mentioned only if automation cannot fix it
    (bot.automation.report.Report.escalate)."""
    who = Mentions(rt, session, now)
    handled = rt.hooks.handled_automatically
    found: dict[str, str] = {}
    for page in opening:
        if page.destination is None:
            continue
        quiet = handled is not None and await handled(rt, session, page.page)
        found[page.group_hash] = "" if quiet else await who.text(page.destination)
    return found


@dataclass
class _Rows:
    """The plan's incidents and storms as rows, found by the plan's references."""

    incidents: dict[IncidentRef, Incident]
    storms: dict[StormRef, Storm]

    def storm_id(self, ref: StormRef | None) -> int | None:
        return None if ref is None else self.storms[ref].id


async def _write_rows(w: ThreadWriter, plan: IngestPlan, rows: _Rows, now: datetime) -> None:
    session = w.session
    for reopening in plan.reopened:
        reopen(rows.incidents[reopening.incident_id], reopening.destination, now)
    for rollup in plan.storms:
        if rollup.closed:
            storms.close(rows.storms[rollup.storm], now)
    for start in plan.storm_starts:
        rows.storms[start.pair] = await storms.start(w, start, now)
    created = {
        n.page.group_hash: draft_incident(n, now, storm_id=rows.storm_id(n.storm))
        for n in plan.opened
    }
    for rollup in plan.storms:
        if rollup.incidents:
            rows.storms[rollup.storm].incident_count += rollup.incidents
            rows.storms[rollup.storm].last_incident_at = now
    session.add_all(created.values())
    await session.flush()  # the UNIQUE open_key claims; a lost race retries
    rows.incidents.update(created)
    if plan.page_targets:
        await session.execute(
            update(PageRecord),
            [{"id": p, "incident_id": rows.incidents[i].id} for p, i in plan.page_targets.items()],
        )
    joined = sorted(r.storm for r in plan.storms if isinstance(r.storm, int))
    if missing := [s for s in joined if s not in rows.storms]:
        for storm in await session.scalars(
            select(Storm).where(Storm.id.in_(missing)).order_by(Storm.id).with_for_update()
        ):
            rows.storms[storm.id] = storm
    for change in plan.incidents:
        incident = rows.incidents[change.incident]
        incident.page_count = change.page_count
        incident.firing_count = change.firing_count
        incident.severity = change.severity
        incident.updated_at = now
        if change.resolved:
            _resolve_by_source(incident, now)
    for rollup in plan.storms:
        rows.storms[rollup.storm].page_count += rollup.pages


def _resolve_by_source(incident: Incident, now: datetime) -> None:
    """Every alert of the incident cleared: resolved by its source, not by a person."""
    incident.status = RESOLVED
    incident.open_key = None
    incident.resolved_at = now
    incident.resolved_by = incident.source
    incident.next_escalation_at = None
    if incident.service:  # the fleet at resolution is read after commit (followup)
        incident.fleet_due_at = now
    if incident.pagerduty_state in ("trigger", "sent"):
        incident.pagerduty_state = "resolve"


async def _write_messages(w: ThreadWriter, plan: IngestPlan, rows: _Rows) -> None:
    for news in plan.thread:
        incident = rows.incidents[news.incident]
        if news.kind == "root":
            w.post_root(incident, root_message(w.rt, incident))
        elif news.kind == "later":
            w.defer(incident, list(news.lines))
        else:  # a change of state is said now, in order: the alerts, then what they did
            await w.flush_unsent(incident)
            await w.add_page_lines(incident, list(news.lines))
            for reply in news.replies:
                w.reply(incident, reply)
            await w.refresh_incident(incident)
    for rollup in plan.storms:
        storm = rows.storms[rollup.storm]
        if rollup.started:
            await storms.show(w, storm, new=True)
        else:
            storm.stale = True  # re-counted by the announcer, off the webhook path


def _entry(note: AuditNote, rows: _Rows) -> NewEntry:
    incident = rows.incidents[note.incident]
    params: dict[str, Any] = dict(note.params)
    if "storm" in params:
        params["storm"] = rows.storm_id(params["storm"])
    return NewEntry(
        actor=AUTOMATION, action=note.action, target=audit_target(incident),
        outcome=note.outcome, ref=incident.ref, params=params,
    )  # fmt: skip
