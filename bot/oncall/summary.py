"""What happened during a shift, read from the audit log, plus what outlives the shift.

The audit log already holds every incident change, action, denial, approval, silence and
automation decision with who and when, so the summary is one indexed range scan over
`audit_log.at`. What is still open at the handoff (incidents, locks, silences, scheduled
maintenance) is live state owned by other areas: they contribute `LiveSection`s.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.audit import vocabulary as v
from bot.audit.actors import AUTOMATION_ID
from bot.audit.models import AuditEntry

# Another area's view of what is still open at `at`: (title, lines), or None to omit.
LiveSection = Callable[[AsyncSession, datetime], Awaitable[tuple[str, list[str]] | None]]

SUMMARY_ACTIONS = (
    v.INCIDENT_OPENED,
    v.INCIDENT_ACKNOWLEDGED,
    v.INCIDENT_RESOLVED,
    v.OPERATION_FINISHED,
    v.APPROVAL_DECIDED,
    v.GUARD_DECIDED,
    v.BREAK_GLASS,
    v.SILENCE_CREATED,
    v.SILENCE_EXPIRED,
    v.AUTOMATION_DECIDED,
    "incident.noted",
)


@dataclass(frozen=True)
class Event:
    at: datetime
    actor: str
    actor_name: str
    action: str
    target: str
    outcome: str
    ref: str | None
    params: str


@dataclass
class ShiftFacts:
    start: datetime
    end: datetime
    opened: list[Event] = field(default_factory=list)
    acknowledged: list[Event] = field(default_factory=list)
    resolved: list[Event] = field(default_factory=list)
    actions: list[Event] = field(default_factory=list)
    approvals: list[Event] = field(default_factory=list)
    # Requests the guard chain denied. A refused Approve/Deny click (the clicker may not
    # decide) leaves the request open: it is not a denial and is kept apart.
    denied: list[Event] = field(default_factory=list)
    refused_clicks: list[Event] = field(default_factory=list)
    failed: list[Event] = field(default_factory=list)
    break_glass: list[Event] = field(default_factory=list)
    silences: list[Event] = field(default_factory=list)
    automation: list[Event] = field(default_factory=list)
    notes: list[Event] = field(default_factory=list)
    live: list[tuple[str, list[str]]] = field(default_factory=list)

    def _median_delay(self, later: list[Event]) -> timedelta | None:
        """Median time from an incident's opening (in this shift) to `later` events of it."""
        opened_at = {e.ref: e.at for e in self.opened if e.ref}
        seconds = [(e.at - opened_at[e.ref]).total_seconds() for e in later if e.ref in opened_at]
        return timedelta(seconds=median(seconds)) if seconds else None

    @property
    def median_time_to_ack(self) -> timedelta | None:
        return self._median_delay(self.acknowledged)

    @property
    def median_time_to_resolve(self) -> timedelta | None:
        return self._median_delay(self.resolved)

    @property
    def noisiest(self) -> list[tuple[str, int]]:
        return Counter(e.target for e in self.opened).most_common(5)

    @property
    def fixed_without_a_human(self) -> int:
        # Automation records `succeeded` only when its operation succeeded AND the
        # post-check passed (bot.automation.results); an operation that "succeeded" but
        # left the service broken was not a fix, and a human-approved run is not automatic.
        return sum(1 for e in self.automation if e.outcome == v.SUCCEEDED)


def _sort(facts: ShiftFacts, event: Event) -> None:
    action, outcome = event.action, event.outcome
    if event.actor == AUTOMATION_ID and action == v.AUTOMATION_DECIDED:
        facts.automation.append(event)
    elif action == v.INCIDENT_OPENED:
        facts.opened.append(event)
    elif action == v.INCIDENT_ACKNOWLEDGED:
        facts.acknowledged.append(event)
    elif action == v.INCIDENT_RESOLVED:
        facts.resolved.append(event)
    elif action == v.OPERATION_FINISHED:
        facts.actions.append(event)
        if outcome in (v.FAILED, v.UNKNOWN):
            facts.failed.append(event)
    elif action == v.APPROVAL_DECIDED:
        facts.approvals.append(event)
    elif action == v.GUARD_DECIDED and outcome == v.DENIED:
        _sort_denial(facts, event)
    elif action == v.BREAK_GLASS:
        facts.break_glass.append(event)
    elif action in (v.SILENCE_CREATED, v.SILENCE_EXPIRED):
        facts.silences.append(event)
    elif action == "incident.noted":
        facts.notes.append(event)


def _sort_denial(facts: ShiftFacts, event: Event) -> None:
    """A chain denial is a request denied only when it moved the request (`applied`,
    bot.actions.flow.deny_request); one recorded without `applied` is a click the chain
    refused (bot.actions.approval_decision), and one that did not apply changed nothing."""
    try:
        params = json.loads(event.params)
    except ValueError:
        params = {}
    if not isinstance(params, dict):
        params = {}
    if params.get("applied") is True:
        facts.denied.append(event)
    elif "applied" not in params:
        facts.refused_clicks.append(event)


async def collect_facts(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    live_sections: Sequence[LiveSection] = (),
) -> ShiftFacts:
    facts = ShiftFacts(start=start, end=end)
    rows = await session.execute(
        select(
            AuditEntry.at,
            AuditEntry.actor,
            AuditEntry.actor_name,
            AuditEntry.action,
            AuditEntry.target,
            AuditEntry.outcome,
            AuditEntry.ref,
            AuditEntry.params,
        )
        .where(
            AuditEntry.at >= start,
            AuditEntry.at < end,
            AuditEntry.action.in_(SUMMARY_ACTIONS),
        )
        .order_by(AuditEntry.at)
    )
    for row in rows:
        _sort(facts, Event(*row))
    for section in live_sections:
        found = await section(session, end)
        if found is not None:
            facts.live.append(found)
    return facts


def note_text(event: Event) -> str:
    try:
        params = json.loads(event.params)
    except ValueError:
        return ""
    return str(params.get("text", "")) if isinstance(params, dict) else ""
