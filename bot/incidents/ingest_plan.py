"""Planning one delivery's new pages: which incident each joins (opening or reopening one
where it must), the counters and states that follow, the storms' share, what the threads
are told, the audit entries and the follow-ups.

`plan_delivery` is a pure function of the pages and of the state the applier
(bot.incidents.ingest_apply) loaded and locked: no database, no runtime, no I/O. Which
incident a page belongs to is decided in bot.incidents.page_assignment, the storms in
bot.incidents.storm_plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot import messages
from bot.audit import vocabulary as v
from bot.incidents.config import StormsConfig
from bot.incidents.ingest_plan_types import (
    AuditNote,
    DeliveryState,
    FollowUps,
    IncidentRef,
    IncidentUpdate,
    IngestPlan,
    NewIncident,
    Reopening,
    StormRef,
    StormRollup,
    ThreadNews,
)
from bot.incidents.models import OPEN_STATES
from bot.incidents.opening import storm_key_of
from bot.incidents.page_assignment import AlertHistory, Tally, assign, openings
from bot.incidents.pagestore import Prepared
from bot.incidents.storm_plan import StormDecisions, StormTally, plan_storms
from bot.outbox import Message
from integrations.pages import SEVERITY_RANK


def plan_delivery(
    pages: Sequence[Prepared], state: DeliveryState, *, now: datetime, storms: StormsConfig
) -> IngestPlan:
    """What a delivery's new pages (each stored first by this delivery, a page once) do."""
    alerts = AlertHistory(pages, state.earlier)
    found = openings(pages, alerts, state.incidents, now)
    drafts = [_new_incident(p, state, storms) for p in found.new]
    decided = plan_storms(
        drafts, state.storms, dict(state.recent), state.incidents, now=now, config=storms
    )
    known = {i.id: i for i in state.incidents}
    assigned = assign(pages, alerts, found.joined, known, state.page_ids)
    befores = _befores(state, decided, {r.incident_id for r in found.reopened}, now)
    updates = [_after(ref, t, befores[ref]) for ref, t in assigned.tallies.items()]
    news, refresh = _thread_news(decided.opened, updates, assigned.tallies, befores)
    rollups = _storm_rollups(decided, updates, assigned.tallies)
    return IngestPlan(
        opened=tuple(decided.opened),
        reopened=tuple(found.reopened),
        storm_starts=tuple(decided.starts),
        incidents=tuple(updates),
        page_targets=assigned.targets,
        storms=rollups,
        thread=news,
        audit=_audit_notes(decided.opened, updates, befores, found.reopened),
        follow_ups=FollowUps(
            refresh=refresh,
            pagerduty=any(u.resolved and _pages_pagerduty(befores[u.incident]) for u in updates),
            announce=any(n.kind == "later" for n in news) or any(not r.started for r in rollups),
            firing_pages=tuple(assigned.firing_pages),
        ),
    )


def _new_incident(page: Prepared, state: DeliveryState, storms: StormsConfig) -> NewIncident:
    assert page.destination is not None  # a page below every route opens nothing
    return NewIncident(
        page=page,
        destination=page.destination,
        mentions=state.mentions.get(page.group_hash, ""),
        storm_key=storm_key_of(storms.label, page.page),
    )


@dataclass(frozen=True)
class _Before:
    """An incident as the delivery finds it (once opened or reopened)."""

    page_count: int
    firing_count: int
    severity: str
    source: str
    is_open: bool = True
    has_thread: bool = True
    silenced: bool = False
    pagerduty_state: str | None = None
    reopened_count: int = 0
    storm: StormRef | None = None
    new: bool = False
    reopened: bool = False


def _befores(
    state: DeliveryState, decided: StormDecisions, reopened: set[int], now: datetime
) -> dict[IncidentRef, _Before]:
    found: dict[IncidentRef, _Before] = {}
    for i in state.incidents:
        again = i.id in reopened
        found[i.id] = _Before(
            page_count=i.page_count,
            firing_count=i.firing_count,
            severity=i.severity,
            source=i.source,
            is_open=again or i.status in OPEN_STATES,
            has_thread=i.has_thread,
            silenced=i.silenced_until is not None and i.silenced_until > now,
            pagerduty_state=i.pagerduty_state,
            reopened_count=i.reopened_count + (1 if again else 0),
            storm=decided.linked.get(i.id, i.storm_id),
            reopened=again,
        )
    for n in decided.opened:
        found[n.page.group_hash] = _Before(
            page_count=0,
            firing_count=0,
            severity=n.page.page.severity,
            source=n.page.page.source,
            has_thread=not n.folded,
            storm=n.storm,
            new=True,
        )
    return found


def _after(ref: IncidentRef, tally: Tally, before: _Before) -> IncidentUpdate:
    firing = max(0, before.firing_count + tally.firing)
    worse = SEVERITY_RANK[tally.worst] > SEVERITY_RANK[before.severity]
    return IncidentUpdate(
        incident=ref,
        page_count=before.page_count + tally.pages,
        firing_count=firing,
        severity=tally.worst if worse else before.severity,
        resolved=tally.resolved_one and before.is_open and firing == 0,
        storm=before.storm,
    )


def _pages_pagerduty(before: _Before) -> bool:
    # Resolving an incident PagerDuty was told of (or is about to be) tells it too.
    return before.pagerduty_state in ("trigger", "sent", "resolve")


def _thread_news(
    opened: Sequence[NewIncident],
    updates: Sequence[IncidentUpdate],
    tallies: dict[IncidentRef, Tally],
    befores: dict[IncidentRef, _Before],
) -> tuple[tuple[ThreadNews, ...], tuple[IncidentRef, ...]]:
    """Roots of new incidents first, then each incident's news; and whose fleet view to fetch."""
    news = [ThreadNews(n.page.group_hash, "root") for n in opened if not n.folded]
    refresh: list[IncidentRef] = [n.incident for n in news]
    for update in updates:
        before = befores[update.incident]
        if before.new or not before.has_thread:
            continue
        lines = () if before.silenced else tuple(tallies[update.incident].lines)
        if not before.reopened and not update.resolved:
            # The common case, many times a second in a storm: only recorded; the announcer
            # renders the root and the reply (bot.incidents.followup).
            news.append(ThreadNews(update.incident, "later", lines))
            continue
        replies: list[Message] = []
        if before.reopened:
            replies.append(Message(text=messages.incident_reopened(before.reopened_count)))
            refresh.append(update.incident)
        if update.resolved:
            replies.append(Message(text=messages.incident_resolved_by_source(before.source)))
            refresh.append(update.incident)  # the root shows the fleet at resolution
        news.append(ThreadNews(update.incident, "now", lines, tuple(replies)))
    return tuple(news), tuple(refresh)


def _storm_rollups(
    decided: StormDecisions, updates: Sequence[IncidentUpdate], tallies: dict[IncidentRef, Tally]
) -> tuple[StormRollup, ...]:
    """The storms changed: those the new incidents closed, started or joined, then (in id
    order) those the incidents the pages joined belong to."""
    shares: dict[StormRef, StormTally] = {
        ref: StormTally(t.started, t.closed, t.incidents, t.pages)
        for ref, t in decided.tallies.items()
    }
    others = {u.storm for u in updates if isinstance(u.storm, int) and u.storm not in shares}
    for storm_id in sorted(others):
        shares[storm_id] = StormTally()
    for update in updates:
        if update.storm is not None:
            shares[update.storm].pages += tallies[update.incident].pages
    return tuple(
        StormRollup(ref, t.started, t.closed, t.incidents, t.pages) for ref, t in shares.items()
    )


def _audit_notes(
    opened: Sequence[NewIncident],
    updates: Sequence[IncidentUpdate],
    befores: dict[IncidentRef, _Before],
    reopened: Sequence[Reopening],
) -> tuple[AuditNote, ...]:
    after = {u.incident: u for u in updates}
    notes = [
        AuditNote(v.INCIDENT_OPENED, v.TRIGGERED, n.page.group_hash, {
            "title": n.page.page.title, "severity": after[n.page.group_hash].severity,
            "source": n.page.page.source, "channel": n.destination.channel,
            "group": n.page.group_key, "storm": n.storm,
        })
        for n in opened
    ]  # fmt: skip
    notes += [
        AuditNote(v.INCIDENT_REOPENED, v.TRIGGERED, r.incident_id,
                  {"times": befores[r.incident_id].reopened_count})
        for r in reopened
    ]  # fmt: skip
    notes += [
        AuditNote(v.INCIDENT_RESOLVED, v.RESOLVED, u.incident,
                  {"by": befores[u.incident].source, "pages": u.page_count})
        for u in updates
        if u.resolved
    ]  # fmt: skip
    return tuple(notes)
