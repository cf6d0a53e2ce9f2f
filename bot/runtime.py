"""Everything a handler needs at run time, built once in `main()` from the config."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import Clock, utcnow
from bot.config import Config
from bot.fleet import FleetRouter
from bot.inflight import InFlight
from bot.intake.sink import PageSink
from bot.interactions import InteractionRegistry
from bot.monitoring.metrics import Metrics
from bot.oncall.schedules import Rosters
from bot.oncall.summary import LiveSection
from bot.registry import CommandRegistry
from bot.scheduler import Scheduler
from integrations.pages import Page
from integrations.slack.web import SlackWebClient


def _nothing() -> None:
    return None


@dataclass
class Runtime:
    config: Config
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    fleet: FleetRouter
    registry: CommandRegistry
    scheduler: Scheduler
    interactions: InteractionRegistry = field(default_factory=InteractionRegistry)
    clock: Clock = utcnow
    # Called after a transaction that enqueued Slack messages, so delivery starts now.
    wake_outbox: Callable[[], None] = field(default=_nothing)
    # Slack's Web API, for the one answer that cannot go through the outbox: "the
    # database is down, try again" (bot.storage_outage).
    slack_direct: SlackWebClient | None = None
    # Slack listeners still working after their ack; an orderly stop waits for them.
    in_flight: InFlight = field(default_factory=InFlight)
    # What other areas report as still open at a handoff (incidents, locks, silences).
    handoff_sections: list[LiveSection] = field(default_factory=list)
    # Who is on call, per rotation; PagerDuty answers are cached here, per replica.
    rosters: Rosters = field(default_factory=Rosters)
    # Stores parsed webhook deliveries (bot.intake.sink); None until the incidents core
    # is wired, and intake answers 503 meanwhile.
    page_sink: PageSink | None = None
    # The bot's own metrics (GET /metrics); one registry per runtime, not the global one.
    metrics: Metrics = field(default_factory=Metrics)
    # Called (without waiting) with the ids of new firing pages once ingest committed
    # them and they joined an incident: bounded auto-remediation starts there.
    page_followups: list[Callable[[Runtime, list[int]], None]] = field(default_factory=list)
    # Asked inside ingest's transaction whether a new page will be handled with no person
    # (an `auto` runbook, automation not paused): its incident then opens without
    # mentioning anyone, and automation mentions the on-call if it cannot fix it.
    handled_automatically: Callable[[AsyncSession, Page], Awaitable[bool]] | None = None

    def command_name(self, group: str) -> str:
        return str(getattr(self.config.slack.commands, group, f"/{group}"))
