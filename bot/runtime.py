"""Everything a handler needs at run time, built once in `main()` from the config."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import Clock, utcnow
from bot.config import Config
from bot.fleet import FleetRouter
from bot.intake.sink import PageSink
from bot.interactions import InteractionRegistry
from bot.oncall.summary import LiveSection
from bot.registry import CommandRegistry
from bot.scheduler import Scheduler


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
    # What other areas report as still open at a handoff (incidents, locks, silences).
    handoff_sections: list[LiveSection] = field(default_factory=list)
    # Stores parsed webhook deliveries (bot.intake.sink); None until the incidents core
    # is wired, and intake answers 503 meanwhile.
    page_sink: PageSink | None = None

    def command_name(self, group: str) -> str:
        return str(getattr(self.config.slack.commands, group, f"/{group}"))
