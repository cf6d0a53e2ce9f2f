"""Everything a handler needs at run time: built once by the composition root
(`bot.composition.open_bot`) from the config and what each area installed, then frozen.

Areas never set anything on it: what they contribute (a page sink, follow-ups, handoff
sections, ...) is collected in `bot.parts.AppParts` while the app is assembled and
handed over here as `hooks` (docs/architecture.md, "How an area plugs in").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.background import Background
from bot.clock import Clock, utcnow
from bot.config import Config
from bot.fleet import FleetRouter
from bot.inflight import InFlight
from bot.interactions import InteractionRegistry
from bot.monitoring.metrics import Metrics
from bot.oncall.schedules import Rosters
from bot.oncall.summary import LiveSection
from bot.outbox import Message
from bot.permissions.group_cache import UserGroups
from bot.permissions.scope import IncidentRef
from bot.registry import CommandRegistry
from bot.scheduler import Scheduler
from bot.transports import OutsideTransports
from integrations.pages import Page, PageBatch
from integrations.slack.web import SlackWebClient


class PageSink(Protocol):
    """The seam between intake (HTTP, auth, parsing) and the incidents core (storage, dedupe,
    grouping, threads): one awaitable that takes a parsed delivery and stores it.

    The routes call `rt.hooks.page_sink(rt, batch)` and answer the sender 2xx only after
    it returns, so what a sink promises is what the sender is told:

    - **Durable on return.** Every page of the batch is committed before the call returns;
      a sink that raises has stored nothing of the batch (one transaction), and the sender
      gets a 503 and retries.
    - **Whole batches.** The sink is only ever called with a complete, valid batch; it stores
      all of it or none of it.
    - **Re-delivery changes nothing.** A page already stored with the same `(source,
      dedup_key, status)` counts as not new. A batch whose `delivery_id` (PagerDuty's
      `X-Webhook-Id`) was stored before changes nothing at all and returns 0; the sink records
      delivery ids in the same transaction as the pages.
    - Returns how many pages were new.

    `bot.incidents.ingest.ingest` is the real sink; tests use small ones of their own.
    """

    async def __call__(self, rt: Runtime, batch: PageBatch, /) -> int: ...


# Called (without waiting) with the ids of new firing pages once ingest committed them
# and they joined an incident: bounded auto-remediation starts there.
PageFollowup = Callable[["Runtime", list[int]], None]
# Asked inside ingest's transaction whether a new page will be handled with no person
# (an `auto` runbook, automation not paused): its incident then opens without mentioning
# anyone, and automation mentions the on-call if it cannot fix it.
AutomaticCheck = Callable[["Runtime", AsyncSession, Page], Awaitable[bool]]
# Whether a person is in the open incident of a thread (or of a service), None when it
# cannot tell: the `require_incident` rule of guarded actions asks it.
IncidentMembership = Callable[["Runtime", "MembershipQuestion"], Awaitable[bool | None]]
# The channel an incident (or storm) lives in, None when there is no such one: the
# permission step keeps incident work in that channel and its threads.
IncidentChannel = Callable[["Runtime", IncidentRef], Awaitable[str | None]]
# An Events API event (its `event` object) an area listens to, after Slack was acked and
# the delivery found new (bot.slack_app).
EventHandler = Callable[["Runtime", Mapping[str, Any]], Awaitable[None]]
# Shows the answer to a click on the App Home at the top of the clicker's Home tab.
HomeAnswer = Callable[["Runtime", str, "Message"], Awaitable[None]]
# Who should see their App Home again because something it shows changed.
HomeRefresh = Callable[["Runtime", Iterable[str]], None]


@dataclass(frozen=True)
class MembershipQuestion:
    user_id: str
    channel_id: str
    thread_ts: str | None
    service: str


@dataclass(frozen=True)
class AreaHooks:
    """What the areas plugged in; absent means the area is not installed."""

    page_sink: PageSink | None = None
    page_followups: Sequence[PageFollowup] = ()
    handled_automatically: AutomaticCheck | None = None
    incident_membership: IncidentMembership | None = None
    incident_channel: IncidentChannel | None = None
    handoff_sections: Sequence[LiveSection] = ()
    events: Mapping[str, EventHandler] = field(default_factory=dict)
    answer_in_home: HomeAnswer | None = None
    refresh_homes: HomeRefresh | None = None


@dataclass(frozen=True)
class Runtime:
    config: Config
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    fleet: FleetRouter
    commands: CommandRegistry[Runtime]
    buttons: InteractionRegistry[Runtime]
    scheduler: Scheduler
    # Called after a transaction that enqueued Slack messages, so delivery starts now.
    wake_outbox: Callable[[], None]
    # Slack's Web API, for the one answer that cannot go through the outbox: "the
    # database is down, try again" (bot.storage_outage).
    slack_direct: SlackWebClient | None
    # When this replica started: what "never heard of" counts from (bot.monitoring).
    started_at: datetime
    hooks: AreaHooks = AreaHooks()
    clock: Clock = utcnow
    # Slack listeners still working after their ack; an orderly stop waits for them.
    in_flight: InFlight = field(default_factory=InFlight)
    # Work started after a commit and not waited for (fleet reads, deliveries).
    background: Background = field(default_factory=Background)
    # Who is on call, per rotation; PagerDuty answers are cached here, per replica.
    rosters: Rosters = field(default_factory=Rosters)
    # Members of the configured Slack user groups, per replica (bot/permissions/usergroups.py).
    usergroups: UserGroups = field(default_factory=UserGroups)
    # The bot's own metrics (GET /metrics); one registry per runtime, not the global one.
    metrics: Metrics = field(default_factory=Metrics)
    transports: OutsideTransports = field(default_factory=OutsideTransports)

    def homes_changed(self, users: Iterable[str]) -> None:
        """Something the App Home of `users` shows changed (call after the commit)."""
        if self.hooks.refresh_homes is not None:
            self.hooks.refresh_homes(self, users)

    def command_name(self, group: str) -> str:
        return str(getattr(self.config.slack.commands, group, f"/{group}"))
