"""What the areas contribute while the app is assembled: one `AppParts`, filled by each
area's `install(parts)` and by the command groups, then turned into the frozen `Runtime`.

An area plugs in one way only (docs/architecture.md, "How an area plugs in"):

    def install(parts: AppParts) -> None:
        parts.jobs.append(Job("incidents-storms", 5, sweep_storms))
        parts.handoff_sections.append(open_incidents_section)
        parts.hooks.page_sink = ingest

Nothing is set on the runtime afterwards and no module keeps state set at start-up, so two
bots in one process (tests, the demo) never share anything by accident.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from starlette.routing import BaseRoute

from bot.config import Config
from bot.fleet import FleetRouter
from bot.interactions import InteractionRegistry
from bot.oncall.summary import LiveSection
from bot.registry import CommandRegistry
from bot.runtime import (
    AreaHooks,
    AutomaticCheck,
    EventHandler,
    HomeAnswer,
    HomeRefresh,
    IncidentChannel,
    IncidentMembership,
    PageFollowup,
    PageSink,
    Runtime,
)

# A step that needs the running bot: a scheduled job, a task at start, a route factory.
Step = Callable[[Runtime], Awaitable[object]]


@dataclass(frozen=True)
class Job:
    """A job the scheduler runs every `seconds` on the leader replica only."""

    name: str
    seconds: float
    run: Step


@dataclass
class Hooks:
    """The mutable twin of `AreaHooks`, filled during installation."""

    page_sink: PageSink | None = None
    page_followups: list[PageFollowup] = field(default_factory=list)
    handled_automatically: AutomaticCheck | None = None
    incident_membership: IncidentMembership | None = None
    incident_channel: IncidentChannel | None = None
    # Events API event type -> its handler (e.g. `subteam_members_changed`).
    events: dict[str, EventHandler] = field(default_factory=dict)
    answer_in_home: HomeAnswer | None = None
    refresh_homes: HomeRefresh | None = None

    def freeze(self, sections: Sequence[LiveSection]) -> AreaHooks:
        return AreaHooks(
            page_sink=self.page_sink,
            page_followups=tuple(self.page_followups),
            handled_automatically=self.handled_automatically,
            incident_membership=self.incident_membership,
            incident_channel=self.incident_channel,
            handoff_sections=tuple(sections),
            events=dict(self.events),
            answer_in_home=self.answer_in_home,
            refresh_homes=self.refresh_homes,
        )


@dataclass
class AppParts:
    config: Config
    commands: CommandRegistry[Runtime] = field(default_factory=CommandRegistry)
    buttons: InteractionRegistry[Runtime] = field(default_factory=InteractionRegistry)
    hooks: Hooks = field(default_factory=Hooks)
    jobs: list[Job] = field(default_factory=list)
    # HTTP routes beside Slack's request URL (webhooks, health), built with the runtime.
    routes: list[Callable[[Runtime], Sequence[BaseRoute]]] = field(default_factory=list)
    # Awaited once the runtime exists, before the bot serves (e.g. `config.loaded`).
    on_open: list[Step] = field(default_factory=list)
    # Started beside serving by every replica, not waited for (e.g. reconciliation).
    at_start: list[Step] = field(default_factory=list)
    handoff_sections: list[LiveSection] = field(default_factory=list)
    # The fleet backends, opened by the composition root before `customize` sees the
    # parts (a test may wrap one); None while only the command list is wanted.
    fleet: FleetRouter | None = None
