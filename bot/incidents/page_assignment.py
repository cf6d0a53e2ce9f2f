"""Which incident each of a delivery's new pages belongs to: the incidents to lock for
that, the groups that open or reopen one, and each incident's share of the pages.

Pure functions, part of the delivery planner (bot.incidents.ingest_plan); the applier
(bot.incidents.ingest_apply) asks `incidents_to_lock` and `pages_opening` first, to know
what to load and lock, and whom the new incidents mention.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.incidents.config import StormsConfig
from bot.incidents.incident_blocks import page_line
from bot.incidents.ingest_plan_types import (
    IncidentLocks,
    IncidentRef,
    IncidentState,
    Reopening,
    StormPair,
)
from bot.incidents.models import RESOLVED
from bot.incidents.opening import storm_key_of
from bot.incidents.pagestore import AlertKey, Counterpart, Identity, Prepared
from integrations.pages import SEVERITY_RANK


class AlertHistory:
    """Each new page's place in its alert's life, given the alert's pages stored before."""

    def __init__(
        self, pages: Sequence[Prepared], earlier: Mapping[AlertKey, Sequence[Counterpart]]
    ) -> None:
        self._earlier = earlier
        resolved_here = {p.alert for p in pages if not p.firing}
        # A firing page whose resolution is already known is history, not news.
        self._stale = {
            p.alert
            for p in pages
            if p.firing
            and (
                p.alert in resolved_here
                or any(c.status == RESOLVED for c in earlier.get(p.alert, ()))
            )
        }

    def live_firing(self, page: Prepared) -> bool:
        return page.firing and page.alert not in self._stale

    def incident_before(self, page: Prepared) -> int | None:
        """The incident the alert's firing page joined, when that page came earlier."""
        return next(
            (c.incident_id for c in self._earlier.get(page.alert, ()) if c.status == "firing"),
            None,
        )


def incidents_to_lock(
    pages: Sequence[Prepared],
    earlier: Mapping[AlertKey, Sequence[Counterpart]],
    *,
    now: datetime,
    reopen_minutes: int,
) -> IncidentLocks:
    alerts = AlertHistory(pages, earlier)
    firing = frozenset(p.group_hash for p in pages if alerts.live_firing(p))
    reopen = bool(reopen_minutes and firing)
    return IncidentLocks(
        open_keys=frozenset(p.group_hash for p in pages),
        ids=frozenset(x for p in pages if (x := alerts.incident_before(p)) is not None),
        reopen_groups=firing if reopen else frozenset(),
        resolved_since=now - timedelta(minutes=reopen_minutes) if reopen else None,
    )


@dataclass
class Openings:
    joined: dict[str, IncidentRef]  # group hash -> the incident its pages join
    reopened: list[Reopening] = field(default_factory=list)
    new: list[Prepared] = field(default_factory=list)


def openings(
    pages: Sequence[Prepared],
    alerts: AlertHistory,
    incidents: Sequence[IncidentState],
    now: datetime,
) -> Openings:
    found = Openings({i.open_key: i.id for i in incidents if i.open_key is not None})
    reopenable = _last_resolved(incidents, now)
    for page in pages:
        if not alerts.live_firing(page) or page.destination is None:
            continue
        if page.group_hash in found.joined:
            continue
        previous = reopenable.pop(page.group_hash, None)
        if previous is not None:
            found.reopened.append(Reopening(previous, page.destination))
            found.joined[page.group_hash] = previous
        else:
            found.new.append(page)
            found.joined[page.group_hash] = page.group_hash
    return found


def _last_resolved(incidents: Sequence[IncidentState], now: datetime) -> dict[str, int]:
    """Per group, the incident resolved last: the one a new firing page reopens."""
    best: dict[str, IncidentState] = {}
    for incident in incidents:
        if incident.open_key is not None or incident.status != RESOLVED:
            continue
        current = best.get(incident.group_hash)
        if current is None or (incident.resolved_at or now) > (current.resolved_at or now):
            best[incident.group_hash] = incident
    return {group: incident.id for group, incident in best.items()}


def pages_opening(
    pages: Sequence[Prepared],
    *,
    earlier: Mapping[AlertKey, Sequence[Counterpart]],
    incidents: Sequence[IncidentState],
    now: datetime,
) -> tuple[Prepared, ...]:
    """The pages that open a new incident (one a group), given the incidents locked."""
    return tuple(openings(pages, AlertHistory(pages, earlier), incidents, now).new)


def storm_pairs(opening: Sequence[Prepared], config: StormsConfig) -> frozenset[StormPair]:
    """The (channel, storm key) of each new incident: their storms are loaded and locked."""
    if not config.enabled:
        return frozenset()
    return frozenset(
        (p.destination.channel, key)
        for p in opening
        if p.destination is not None and (key := storm_key_of(config.label, p.page))
    )


@dataclass
class Tally:
    """One incident's share of the delivery."""

    pages: int = 0
    firing: int = 0
    worst: str = "info"
    resolved_one: bool = False
    lines: list[str] = field(default_factory=list)


@dataclass
class Assignment:
    tallies: dict[IncidentRef, Tally] = field(default_factory=lambda: defaultdict(Tally))
    targets: dict[int, IncidentRef] = field(default_factory=dict)  # page id -> incident
    firing_pages: list[int] = field(default_factory=list)


def assign(
    pages: Sequence[Prepared],
    alerts: AlertHistory,
    joined: Mapping[str, IncidentRef],
    known: Mapping[int, IncidentState],
    page_ids: Mapping[Identity, int],
) -> Assignment:
    out = Assignment()
    for page in pages:
        target = joined.get(page.group_hash)
        before = alerts.incident_before(page)
        if not page.firing and before is not None and before in known:
            target = before
            out.tallies[target].firing -= 1
            out.tallies[target].resolved_one = True
        if target is None:
            continue  # below every route's minimum and no incident open: stored only
        tally = out.tallies[target]
        tally.pages += 1
        live = alerts.live_firing(page)
        if live:
            tally.firing += 1
            if SEVERITY_RANK[page.page.severity] > SEVERITY_RANK[tally.worst]:
                tally.worst = page.page.severity
            out.firing_pages.append(page_ids[page.identity])
        if live or not page.firing:
            tally.lines.append(page_line(page.page))
        out.targets[page_ids[page.identity]] = target
    return out
