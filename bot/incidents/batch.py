"""One delivery's new pages applied to incidents, inside ingest's transaction: which
incident each page belongs to (opening, reopening or joining one), the counters and
states that follow, what the threads are told, and the audit rows.

The incidents touched are locked in one statement in id order, so two transactions never
lock the same rows crosswise; opening a group takes its UNIQUE `open_key` at the flush.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from bot import messages
from bot.audit import vocabulary as v
from bot.audit.actors import AUTOMATION
from bot.audit.writer import NewEntry
from bot.incidents import storms
from bot.incidents.incident_blocks import page_line
from bot.incidents.models import RESOLVED, Incident, PageRecord, Storm
from bot.incidents.opening import Mentions, draft_incident, reopen
from bot.incidents.pagestore import AlertKey, Counterpart, Prepared
from bot.incidents.thread import ThreadWriter, audit_target, root_message
from bot.outbox import Message
from bot.runtime import Runtime
from integrations.pages import SEVERITY_RANK


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


@dataclass
class Tally:
    """One incident's share of the delivery."""

    pages: int = 0
    firing: int = 0
    worst: str = "info"
    resolved_one: bool = False
    lines: list[str] = field(default_factory=list)


class Batch:
    """The delivery's new pages, and the incidents they touch, locked."""

    def __init__(
        self,
        rt: Runtime,
        w: ThreadWriter,
        fresh: list[Prepared],
        earlier: dict[AlertKey, list[Counterpart]],
        now: datetime,
    ) -> None:
        self.rt, self.w, self.fresh, self.earlier, self.now = rt, w, fresh, earlier, now
        resolved_here = {i.alert for i in fresh if not i.firing}
        # A firing page whose resolution is already known is history, not news.
        self.stale = {
            i.alert
            for i in fresh
            if i.firing
            and (
                i.alert in resolved_here
                or any(c.status == RESOLVED for c in earlier.get(i.alert, []))
            )
        }
        self.locked: dict[int, Incident] = {}
        self.open: dict[str, Incident] = {}
        self.reopenable: dict[str, Incident] = {}
        self.created: list[Incident] = []
        self.reopened: list[Incident] = []
        self.storms_touched: set[Storm] = set()
        self.storms_started: set[Storm] = set()
        self.page_targets: dict[int, int] = {}  # page id -> incident id
        self.firing_pages: list[int] = []

    def _live_firing(self, item: Prepared) -> bool:
        return item.firing and item.alert not in self.stale

    def _earlier_incident(self, item: Prepared) -> int | None:
        return next(
            (c.incident_id for c in self.earlier.get(item.alert, []) if c.status == "firing"), None
        )

    async def lock_incidents(self) -> None:
        hashes = {i.group_hash for i in self.fresh}
        firing = {i.group_hash for i in self.fresh if self._live_firing(i)}
        ids = {x for i in self.fresh if (x := self._earlier_incident(i)) is not None}
        reopen_minutes = self.rt.config.grouping.reopen_minutes
        wanted: list[ColumnElement[bool]] = [Incident.open_key.in_(hashes), Incident.id.in_(ids)]
        if reopen_minutes and firing:
            cutoff = self.now - timedelta(minutes=reopen_minutes)
            wanted.append(and_(Incident.group_hash.in_(firing), Incident.resolved_at >= cutoff))
        # One statement in id order: two transactions never lock the same rows crosswise.
        rows = await self.w.session.scalars(
            select(Incident).where(or_(*wanted)).order_by(Incident.id).with_for_update()
        )
        for incident in rows:
            self.locked[incident.id] = incident
            if incident.open_key is not None:
                self.open[incident.open_key] = incident
            elif incident.status == RESOLVED and incident.open_key is None:
                best = self.reopenable.get(incident.group_hash)
                if best is None or (incident.resolved_at or self.now) > (
                    best.resolved_at or self.now
                ):
                    self.reopenable[incident.group_hash] = incident

    async def open_incidents(self) -> None:
        mentions = Mentions(self.rt, self.w.session, self.now)
        for item in self.fresh:
            if not self._live_firing(item) or item.destination is None:
                continue
            if item.group_hash in self.open:
                continue
            previous = self.reopenable.pop(item.group_hash, None)
            if previous is not None:
                reopen(previous, item.destination, self.now)
                self.reopened.append(previous)
                self.open[item.group_hash] = previous
                continue
            quiet = await self._no_one_to_wake(item)
            text = "" if quiet else await mentions.text(item.destination)
            draft = draft_incident(self.rt, item, item.destination, text, self.now)
            self.created.append(draft)
            self.open[item.group_hash] = draft
        self.storms_touched, self.storms_started = await storms.fold_into_storms(
            self.w, self.created, self.now
        )
        self.w.session.add_all(self.created)
        await self.w.session.flush()  # the UNIQUE open_key claims; a lost race retries
        for incident in self.created:
            self.locked[incident.id] = incident

    async def _no_one_to_wake(self, item: Prepared) -> bool:
        """A page automation will handle opens its incident quietly: a person is mentioned
        only if automation cannot fix it (bot.automation.report.Report.escalate)."""
        handled = self.rt.hooks.handled_automatically
        return handled is not None and await handled(self.rt, self.w.session, item.page)

    def assign(self, new_ids: dict[tuple[str, str, str, str], int]) -> dict[int, Tally]:
        tallies: dict[int, Tally] = defaultdict(Tally)
        for item in self.fresh:
            target = self.open.get(item.group_hash)
            earlier = self._earlier_incident(item)
            if not item.firing and earlier is not None and earlier in self.locked:
                target = self.locked[earlier]
                tallies[target.id].firing -= 1
                tallies[target.id].resolved_one = True
            if target is None:
                continue  # below every route's minimum and no incident open: stored only
            tally = tallies[target.id]
            tally.pages += 1
            if self._live_firing(item):
                tally.firing += 1
                if SEVERITY_RANK[item.page.severity] > SEVERITY_RANK[tally.worst]:
                    tally.worst = item.page.severity
            if self._live_firing(item) or not item.firing:
                tally.lines.append(page_line(item.page))
            self.page_targets[new_ids[item.identity]] = target.id
            if self._live_firing(item):
                self.firing_pages.append(new_ids[item.identity])
        return tallies

    async def apply(self, tallies: dict[int, Tally], outcome: Outcome) -> None:
        session, w, now = self.w.session, self.w, self.now
        outcome.firing_pages = list(self.firing_pages)
        if self.page_targets:
            await session.execute(
                update(PageRecord),
                [{"id": p, "incident_id": i} for p, i in self.page_targets.items()],
            )
        storm_ids = {self.locked[i].storm_id for i in tallies if self.locked[i].storm_id}
        storms_by_id = {s.id: s for s in self.storms_touched}
        missing = [s for s in storm_ids if s not in storms_by_id]
        if missing:
            for storm in await session.scalars(
                select(Storm).where(Storm.id.in_(missing)).order_by(Storm.id).with_for_update()
            ):
                storms_by_id[storm.id] = storm
        resolved_now: list[Incident] = []
        for incident_id, tally in tallies.items():
            incident = self.locked[incident_id]
            incident.page_count += tally.pages
            incident.firing_count = max(0, incident.firing_count + tally.firing)
            if SEVERITY_RANK[tally.worst] > SEVERITY_RANK[incident.severity]:
                incident.severity = tally.worst
            incident.updated_at = now
            if incident.storm_id in storms_by_id:
                storms_by_id[incident.storm_id].page_count += tally.pages
            if tally.resolved_one and incident.is_open and incident.firing_count == 0:
                _resolve_by_source(incident, now)
                resolved_now.append(incident)
                outcome.pagerduty |= incident.pagerduty_state == "resolve"
        await self._messages(tallies, resolved_now, outcome)
        for storm in storms_by_id.values():
            if storm in self.storms_started:
                await storms.show(w, storm, new=True)
            else:
                storm.stale = True  # re-counted by the announcer, off the webhook path
                outcome.announce = True
        await self._audit(resolved_now)

    async def _messages(
        self, tallies: dict[int, Tally], resolved_now: list[Incident], outcome: Outcome
    ) -> None:
        w, now = self.w, self.now
        created = {i.id for i in self.created}
        reopened = {i.id for i in self.reopened}
        for incident in self.created:
            if incident.has_thread:
                w.post_root(incident, root_message(self.rt, incident))
                outcome.refresh.append(incident.id)
        for incident_id, tally in tallies.items():
            incident = self.locked[incident_id]
            if incident_id in created or not incident.has_thread:
                continue
            silenced = incident.silenced_until is not None and incident.silenced_until > now
            lines = [] if silenced else tally.lines
            if incident_id not in reopened and incident not in resolved_now:
                # The common case, many times a second in a storm: only recorded here;
                # the announcer renders the root and the reply (bot.incidents.followup).
                w.defer(incident, lines)
                outcome.announce = True
                continue
            # A change of state is said now, in order: the alerts, then what they did.
            await w.flush_unsent(incident)
            await w.add_page_lines(incident, lines)
            if incident_id in reopened:
                w.reply(incident, Message(text=messages.incident_reopened(incident.reopened_count)))
                outcome.refresh.append(incident.id)
            if incident in resolved_now:
                w.reply(
                    incident,
                    Message(text=messages.incident_resolved_by_source(incident.resolved_by or "")),
                )
            await w.refresh_incident(incident)

    async def _audit(self, resolved_now: list[Incident]) -> None:
        # One append for the delivery: the chain head is bumped once, not once an incident.
        entries: list[NewEntry] = []
        for incident in self.created:
            entries.append(NewEntry(
                actor=AUTOMATION, action=v.INCIDENT_OPENED, target=audit_target(incident),
                outcome=v.TRIGGERED, ref=incident.ref,
                params={"title": incident.title, "severity": incident.severity,
                        "source": incident.source, "channel": incident.channel,
                        "group": incident.group_key, "storm": incident.storm_id},
            ))  # fmt: skip
        for incident in self.reopened:
            entries.append(NewEntry(
                actor=AUTOMATION, action=v.INCIDENT_REOPENED, target=audit_target(incident),
                outcome=v.TRIGGERED, ref=incident.ref,
                params={"times": incident.reopened_count},
            ))  # fmt: skip
        for incident in resolved_now:
            entries.append(NewEntry(
                actor=AUTOMATION, action=v.INCIDENT_RESOLVED, target=audit_target(incident),
                outcome=v.RESOLVED, ref=incident.ref,
                params={"by": incident.resolved_by, "pages": incident.page_count},
            ))  # fmt: skip
        await self.w.audit_many(entries)


def _resolve_by_source(incident: Incident, now: datetime) -> None:
    """Every alert of the incident cleared: resolved by its source, not by a person."""
    incident.status = RESOLVED
    incident.open_key = None
    incident.resolved_at = now
    incident.resolved_by = incident.source
    incident.next_escalation_at = None
    if incident.pagerduty_state in ("trigger", "sent"):
        incident.pagerduty_state = "resolve"
