"""Which of a delivery's new incidents fold into a storm, and which storms start or close
(the rules are in bot.incidents.storms); part of the pure delivery planner.

A new incident of a (channel, storm key) with an active storm joins it; otherwise it counts
with the window's others, and the one reaching the threshold starts a storm: it and the
later ones fold in (no thread of their own), the earlier ones keep their threads but count
in it, as do the incidents of the window already open.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from bot.incidents.config import StormsConfig
from bot.incidents.ingest_plan_types import (
    IncidentState,
    NewIncident,
    StormPair,
    StormRef,
    StormStart,
    StormState,
)
from bot.incidents.opening import escalation_due


@dataclass
class StormTally:
    started: bool = False
    closed: bool = False
    incidents: int = 0
    pages: int = 0


@dataclass
class StormDecisions:
    opened: list[NewIncident]
    starts: list[StormStart] = field(default_factory=list)
    # Every storm the delivery changes, in the order it first did.
    tallies: dict[StormRef, StormTally] = field(default_factory=dict)
    # Incidents already open that a storm started here takes in.
    linked: dict[int, StormRef] = field(default_factory=dict)


def pair_of(incident: NewIncident) -> StormPair:
    return (incident.destination.channel, incident.storm_key or "")


def plan_storms(
    opened: Sequence[NewIncident],
    storms: Sequence[StormState],
    recent_counts: dict[StormPair, int],
    incidents: Sequence[IncidentState],
    *,
    now: datetime,
    config: StormsConfig,
) -> StormDecisions:
    keyed = [n for n in opened if n.storm_key] if config.enabled else []
    decided = StormDecisions(list(opened))
    if not keyed:
        return decided
    active: dict[StormPair, StormRef] = {}
    for storm in storms:
        if storm.last_incident_at < now - timedelta(seconds=config.quiet_seconds):
            decided.tallies[storm.id] = StormTally(closed=True)
        else:
            active[(storm.channel, storm.storm_key)] = storm.id
    window_start = now - timedelta(seconds=config.window_seconds)
    recent = Counter(recent_counts)
    storm_of: dict[str, StormRef] = {}  # group hash of a new incident -> its storm
    folded: set[str] = set()
    for position, draft in enumerate(keyed):
        pair = pair_of(draft)
        joined = active.get(pair)
        if joined is None:
            recent[pair] += 1
            if recent[pair] < config.threshold:
                continue
            start = StormStart(
                channel=pair[0], storm_key=pair[1], route=draft.destination.route,
                earlier=recent[pair] - 1, window_start=window_start,
                next_escalation_at=escalation_due(draft.destination, now),
            )  # fmt: skip
            decided.starts.append(start)
            decided.tallies[pair] = StormTally(started=True)
            for earlier in keyed[:position]:
                if pair_of(earlier) == pair:
                    storm_of.setdefault(earlier.page.group_hash, pair)
            _link_window(decided.linked, incidents, start)
            active[pair] = joined = pair
        storm_of[draft.page.group_hash] = joined
        folded.add(draft.page.group_hash)
        decided.tallies.setdefault(joined, StormTally()).incidents += 1
    decided.opened = [
        replace(n, storm=storm_of.get(n.page.group_hash), folded=n.page.group_hash in folded)
        for n in opened
    ]
    return decided


def _link_window(
    linked: dict[int, StormRef], incidents: Sequence[IncidentState], start: StormStart
) -> None:
    """The incidents of the window that kept their own threads count in the new storm."""
    for incident in incidents:
        if (
            incident.channel == start.channel
            and incident.storm_key == start.storm_key
            and incident.opened_at >= start.window_start
            and incident.storm_id is None
            and incident.id not in linked
        ):
            linked[incident.id] = start.pair
