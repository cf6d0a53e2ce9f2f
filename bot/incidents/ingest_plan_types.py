"""What the delivery planner reads and what it decides (bot.incidents.ingest_plan).

Plain frozen values, no rows: the applier (bot.incidents.ingest_apply) takes snapshots of
the rows it locked, and turns the plan back into rows, outbox messages and audit entries.
An incident or storm this delivery creates has no id yet, so the plan names it by a key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeAlias

from bot.incidents.pagestore import AlertKey, Counterpart, Identity, Prepared
from bot.incidents.routing import Destination
from bot.outbox import Message

# An incident: its id when it exists already, else its group hash (one opens per group).
IncidentRef: TypeAlias = int | str
# A storm: its id when it exists already, else (channel, storm key) of the one started.
StormRef: TypeAlias = int | tuple[str, str]
StormPair: TypeAlias = tuple[str, str]  # channel, storm key


@dataclass(frozen=True)
class IncidentState:
    """One incident the delivery's pages touch (locked), as far as planning needs it."""

    id: int
    group_hash: str
    open_key: str | None
    status: str
    severity: str
    source: str
    channel: str
    opened_at: datetime
    resolved_at: datetime | None = None
    page_count: int = 0
    firing_count: int = 0
    reopened_count: int = 0
    has_thread: bool = True
    storm_key: str | None = None
    storm_id: int | None = None
    silenced_until: datetime | None = None
    pagerduty_state: str | None = None


@dataclass(frozen=True)
class StormState:
    """An active storm of a (channel, storm key) a new incident of the delivery has."""

    id: int
    channel: str
    storm_key: str
    last_incident_at: datetime


@dataclass(frozen=True)
class DeliveryState:
    """The delivery's new pages' surroundings, loaded (and locked) before planning."""

    page_ids: Mapping[Identity, int]  # the pages this delivery stored first, by identity
    earlier: Mapping[AlertKey, Sequence[Counterpart]] = field(default_factory=dict)
    incidents: Sequence[IncidentState] = ()  # in id order
    mentions: Mapping[str, str] = field(default_factory=dict)  # group hash -> who to mention
    storms: Sequence[StormState] = ()  # in id order
    # Incidents opened within the storm window, in no storm yet, per (channel, storm key).
    recent: Mapping[StormPair, int] = field(default_factory=dict)


@dataclass(frozen=True)
class IncidentLocks:
    """Which incidents to lock: open ones of the groups, those earlier pages of the
    alerts joined, and those of the firing groups resolved since `resolved_since`."""

    open_keys: frozenset[str]
    ids: frozenset[int]
    reopen_groups: frozenset[str] = frozenset()
    resolved_since: datetime | None = None


@dataclass(frozen=True)
class NewIncident:
    page: Prepared  # the first live firing page of its group
    destination: Destination
    mentions: str
    storm_key: str | None
    storm: StormRef | None = None  # the storm it counts in
    folded: bool = False  # no thread of its own: the storm's thread speaks for it


@dataclass(frozen=True)
class Reopening:
    incident_id: int
    destination: Destination


@dataclass(frozen=True)
class StormStart:
    """A storm this delivery starts: the first incident reaching the threshold does."""

    channel: str
    storm_key: str
    route: str  # whose people its root mentions
    earlier: int  # incidents of the window that kept their own threads, counted in
    window_start: datetime  # those opened since then, in no storm, join it
    next_escalation_at: datetime | None

    @property
    def pair(self) -> StormPair:
        return (self.channel, self.storm_key)


@dataclass(frozen=True)
class StormRollup:
    """A storm's share of the delivery: a root posted when `started`, else marked for the
    announcer to re-count."""

    storm: StormRef
    started: bool = False
    closed: bool = False  # quiet too long: takes no new incidents
    incidents: int = 0  # folded in here
    pages: int = 0


@dataclass(frozen=True)
class IncidentUpdate:
    """An incident's counters after the delivery."""

    incident: IncidentRef
    page_count: int
    firing_count: int
    severity: str
    resolved: bool = False  # every alert cleared: resolved by its source
    storm: StormRef | None = None


@dataclass(frozen=True)
class ThreadNews:
    """What an incident's thread is told. `root`: its root is posted; `later`: the lines
    are left to the announcer; `now`: a change of state, said in order (the lines, then
    `replies`) and the root edited."""

    incident: IncidentRef
    kind: Literal["root", "later", "now"]
    lines: tuple[str, ...] = ()
    replies: tuple[Message, ...] = ()


@dataclass(frozen=True)
class AuditNote:
    """An audit entry by automation about an incident; a `storm` param holds a StormRef,
    written as the storm's id."""

    action: str
    outcome: str
    incident: IncidentRef
    params: Mapping[str, Any]


@dataclass(frozen=True)
class FollowUps:
    """What runs once the transaction committed (bot.incidents.followup)."""

    refresh: tuple[IncidentRef, ...] = ()  # the fleet's view of these is fetched
    pagerduty: bool = False  # an event for PagerDuty is due
    announce: bool = False  # the announcer has roots and lines to render
    firing_pages: tuple[int, ...] = ()  # new firing pages that joined an incident


@dataclass(frozen=True)
class IngestPlan:
    opened: tuple[NewIncident, ...] = ()
    reopened: tuple[Reopening, ...] = ()
    storm_starts: tuple[StormStart, ...] = ()
    incidents: tuple[IncidentUpdate, ...] = ()
    page_targets: Mapping[int, IncidentRef] = field(default_factory=dict)  # page id ->
    storms: tuple[StormRollup, ...] = ()
    thread: tuple[ThreadNews, ...] = ()
    audit: tuple[AuditNote, ...] = ()
    follow_ups: FollowUps = FollowUps()
