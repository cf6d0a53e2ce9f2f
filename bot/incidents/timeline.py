"""An incident's timeline, built from the record: its pages, the audit rows about it and the
actions taken on its services, and the on-call handoffs it crossed (docs/incidents.md,
"Timeline and export").

One builder for every renderer (Slack blocks, Markdown, JSON). The audit rows it quotes
are verified first, from the incident's first row to the chain head and against the
published checkpoints: a timeline is never built on a chain that does not verify
(`TimelineRefused` says why).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.actions.models import ActionRequest
from bot.audit import vocabulary as v
from bot.audit.config import AuditConfig
from bot.audit.hash_chain import AuditKeyMissing, KeyRing
from bot.audit.models import AuditEntry
from bot.audit.published import PublishedLogUnreadable
from bot.audit.verifier import verify
from bot.audit.verify_service import configured_checkpoints
from bot.db.models import PostedMessage
from bot.incidents.models import RESOLVED, Incident, PageRecord
from bot.mentions import mentioned_groups, mentioned_users
from bot.oncall.models import Handoff
from bot.runtime import Runtime

SCHEMA = "watchkeeper.incident-timeline"
VERSION = 1
# Rows written a little before the incident's own clock started (the command that opened
# it by hand, the page's ingest) still belong to it.
LEAD = timedelta(minutes=1)

PAGE_FIRST = "page.first"
PAGE_GROUPED = "page.grouped"
PAGE_RESOLVED = "page.resolved"
HANDOFF = "oncall.handoff"


class TimelineRefused(Exception):
    """No timeline: the incident is unknown, or its audit rows cannot be vouched for."""


@dataclass(frozen=True)
class Event:
    """One thing that happened, as the record has it. `summary` is plain text from the
    record (page titles, notes, command text): renderers escape it for their medium."""

    at: datetime
    kind: str
    actor: str | None
    actor_name: str
    outcome: str | None
    summary: str
    audit_seq: int | None = None
    request_id: str | None = None
    operation_id: str | None = None


@dataclass(frozen=True)
class AuditCheck:
    """What the verification before the build found (only `verified` timelines exist)."""

    rows_checked: int
    from_seq: int | None
    to_seq: int | None
    checkpoints_checked: int


@dataclass(frozen=True)
class Timeline:
    incident: Incident
    root_ts: str | None
    # Who the incident's route paged when it opened: Slack user and user-group ids.
    paged_users: list[str]
    paged_groups: list[str]
    events: list[Event]
    audit: AuditCheck
    built_at: datetime
    requests: list[str] = field(default_factory=list)

    def _since_open(self, when: datetime | None) -> float | None:
        if when is None:
            return None
        return (when - self.incident.opened_at).total_seconds()

    @property
    def mitigated(self) -> Event | None:
        """The first repair that worked: a person's operation that succeeded, or
        automation's run whose fix held, whichever came first."""
        for event in self.events:
            done = event.kind == v.OPERATION_FINISHED and event.outcome == v.SUCCEEDED
            fixed = event.kind == v.AUTOMATION_DECIDED and event.outcome == v.SUCCEEDED
            if done or fixed:
                return event
        return None

    def durations(self) -> dict[str, float | None]:
        """Seconds from the incident's opening to its acknowledgement and resolution (as
        the incident records them) and to its first working repair; None for what has not
        happened."""
        i, fix = self.incident, self.mitigated
        return {
            "to_acknowledge_seconds": self._since_open(i.acknowledged_at),
            "to_mitigate_seconds": self._since_open(fix.at if fix else None),
            "to_resolve_seconds": self._since_open(i.resolved_at if i.status == RESOLVED else None),
        }


@dataclass(frozen=True)
class Sources:
    """What the builder reads from: the bot's runtime, or the CLI's own engine."""

    sessions: async_sessionmaker[AsyncSession]
    engine: AsyncEngine
    audit: AuditConfig
    clock: Callable[[], datetime]

    @classmethod
    def of(cls, rt: Runtime) -> Sources:
        return cls(rt.sessions, rt.engine, rt.config.audit, rt.clock)


def _params(row: AuditEntry) -> dict[str, Any]:
    try:
        found = json.loads(row.params)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _page_events(pages: list[PageRecord]) -> list[Event]:
    out: list[Event] = []
    firing_seen = False
    for p in pages:
        if p.status == "resolved":
            kind = PAGE_RESOLVED
        else:
            kind, firing_seen = (PAGE_GROUPED if firing_seen else PAGE_FIRST), True
        what = f"{p.title} [{p.severity}]" + (f" on {p.service}" if p.service else "")
        out.append(Event(p.received_at, kind, p.source, p.source, p.status, what))
    return out


def _summary(row: AuditEntry, params: dict[str, Any]) -> str:
    """One plain line about an audit row, in the words of its action."""
    action, target, outcome = row.action, row.target, row.outcome
    asked = f"{params.get('action', '')} {target}".strip()
    if action == v.COMMAND_INVOKED:
        said = f"{params.get('command', '')} {params.get('text', '')}".strip()
        why = params.get("reason")
        return said + ("" if outcome == v.ALLOWED else f" (refused: {why})")
    if action == v.INCIDENT_NOTED:
        return f"note: {params.get('text', '')}"
    if action == v.INCIDENT_ASSIGNED:
        return f"assigned to {params.get('assignee', '')}"
    if action == v.AUTOMATION_DECIDED:
        runbook = params.get("runbook") or "automation"
        return f"automation {outcome}: {runbook} ({params.get('action')} {target})"
    if action.startswith(("operation.", "guard.", "approval.", "confirmation", "action.")):
        return f"{asked}: {action} {outcome}"
    return f"{action} {target}: {outcome}"


def _audit_event(row: AuditEntry) -> Event:
    params = _params(row)
    request = params.get("request")
    request_id = str(request) if isinstance(request, str) else None
    if request_id is None and row.ref and not row.ref.startswith("incident:"):
        request_id = None if row.action == v.COMMAND_INVOKED else row.ref
    operation = row.ref if row.action.startswith("operation.") and row.ref != request_id else None
    return Event(
        at=row.at,
        kind=row.action,
        actor=row.actor,
        actor_name=row.actor_name,
        outcome=row.outcome,
        summary=_summary(row, params),
        audit_seq=row.seq,
        request_id=request_id,
        operation_id=operation,
    )


def _about(
    row: AuditEntry, ref: str, requests: set[str], root: tuple[str, str | None], services: set[str]
) -> bool:
    """Whether an audit row of the incident's window belongs to its timeline."""
    if row.ref == ref or (row.ref is not None and row.ref in requests):
        return True
    params = _params(row)
    if params.get("request") in requests:
        return True
    if row.action != v.COMMAND_INVOKED:
        return False
    # Who asked what: named for this incident, said in its thread, a click on one of its
    # requests, or a `/fleet` word naming one of its services.
    if params.get("incident") == ref:
        return True
    channel, thread = root
    in_thread = params.get("thread_ts") == thread and params.get("channel") == channel
    if thread is not None and in_thread:
        return True
    words = str(params.get("text") or "").split()
    if any(w in requests for w in words):
        return True
    verb = str(params.get("verb") or "")
    return verb.startswith("fleet.") and bool(services.intersection(words))


async def _linked_requests(
    session: AsyncSession,
    incident: Incident,
    root_ts: str | None,
    services: set[str],
    end: datetime,
) -> list[ActionRequest]:
    """Actions taken for the incident: asked in its thread, or on one of its services
    while it was open (as `incident_member` counts them, docs/actions.md)."""
    linked: list[ColumnElement[bool]] = [ActionRequest.target.in_(services)] if services else []
    if root_ts is not None:
        linked.append(
            (ActionRequest.channel_id == incident.channel) & (ActionRequest.thread_ts == root_ts)
        )
    if not linked:
        return []
    query = select(ActionRequest).where(
        or_(*linked),
        ActionRequest.created_at >= incident.opened_at - LEAD,
        ActionRequest.created_at <= end,
    )
    return list(await session.scalars(query.order_by(ActionRequest.created_at)))


async def _verified(src: Sources, first_seq: int | None) -> AuditCheck:
    """The chain from `first_seq` to its head, against the checkpoints; refused if broken."""
    try:
        keys = KeyRing.from_config(src.audit)
        checkpoints = configured_checkpoints(src.audit)
    except (AuditKeyMissing, PublishedLogUnreadable) as exc:
        raise TimelineRefused(f"the audit log cannot be verified: {exc}") from None
    async with src.engine.connect() as conn:
        report = await verify(conn, keys, since=first_seq, checkpoints=checkpoints)
    if report.problem is not None:
        p = report.problem
        raise TimelineRefused(f"the audit chain is broken at row {p.seq} ({p.kind}): {p.detail}")
    return AuditCheck(
        report.rows_checked, report.first_seq, report.last_seq, report.checkpoints_checked
    )


async def build_timeline(src: Sources, incident_id: int) -> Timeline:
    """The timeline of incident `incident_id`; `TimelineRefused` when there is no such
    incident or its audit rows do not verify."""
    now = src.clock()
    async with src.sessions() as session:
        incident = await session.get(Incident, incident_id)
        if incident is None:
            raise TimelineRefused(f"there is no incident #{incident_id}")
        root_ts = await session.scalar(
            select(PostedMessage.ts).where(PostedMessage.key == incident.root_key)
        )
        pages = list(
            await session.scalars(
                select(PageRecord)
                .where(PageRecord.incident_id == incident_id)
                .order_by(PageRecord.received_at, PageRecord.id)
            )
        )
        services = {p.service for p in pages if p.service} | (
            {incident.service} if incident.service else set()
        )
        end = incident.resolved_at if incident.resolved_at is not None else now
        requests = await _linked_requests(session, incident, root_ts, services, end)
        # An action still running at resolution keeps writing; its rows belong here too.
        finished = [r.finished_at or now for r in requests]
        # The resolution's own row is written a moment after `resolved_at` is set.
        until = max([end, *finished]) + LEAD
        window = await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.at >= incident.opened_at - LEAD, AuditEntry.at <= until)
            .order_by(AuditEntry.seq)
        )
        rows = list(window)
        handoffs = list(
            await session.scalars(
                select(Handoff)
                .where(Handoff.shift_start > incident.opened_at, Handoff.shift_start <= end)
                .order_by(Handoff.shift_start)
            )
        )
    ids = {r.id for r in requests}
    # Automation's decisions name the request they made: those belong here too.
    for row in rows:
        if row.ref == incident.ref and row.action == v.AUTOMATION_DECIDED:
            made = _params(row).get("request")
            if isinstance(made, str):
                ids.add(made)
    root = (incident.channel, root_ts)
    # Commands after the end (someone reading this very timeline) are not part of it.
    mine = [
        r
        for r in rows
        if _about(r, incident.ref, ids, root, services)
        and (r.action != v.COMMAND_INVOKED or r.at <= end)
    ]
    check = await _verified(src, mine[0].seq if mine else None)
    events = _page_events(pages) + [_audit_event(r) for r in mine]
    events += [
        Event(h.shift_start, HANDOFF, None, h.rotation, None,
              f"{h.rotation}: {h.outgoing} handed over to {h.incoming}")
        for h in handoffs
    ]  # fmt: skip
    # Pages (no seq) before audit rows of the same instant: the page caused them.
    events.sort(key=lambda e: (e.at, e.audit_seq or 0))
    return Timeline(
        incident=incident,
        root_ts=root_ts,
        paged_users=mentioned_users(incident.mentions),
        paged_groups=mentioned_groups(incident.mentions),
        events=events,
        audit=check,
        built_at=now,
        requests=sorted(ids),
    )


async def timeline_of(rt: Runtime, incident_id: int) -> Timeline:
    return await build_timeline(Sources.of(rt), incident_id)
