"""The composition root: the one place that assembles the bot from its areas and command
groups, freezes the `Runtime`, and starts and stops storage, fleet, Bolt app and outbox
worker as one. It is the only module of `bot/` that imports `commands/`
(docs/architecture.md, "The rooms")."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from slack_bolt.async_app import AsyncApp
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.routing import BaseRoute

import commands as command_groups
from bot.actions import install as actions_area
from bot.audit import install as audit_area
from bot.automation import install as automation_area
from bot.campaigns import install as campaigns_area
from bot.clock import Clock, utcnow
from bot.config import Config
from bot.console import install as console_area
from bot.db.engine import create_engine, session_factory
from bot.db.migrate import upgrade
from bot.fleet.backends import OpenFleet, open_fleet
from bot.home import install as home_area
from bot.incidents import install as incidents_area
from bot.intake import install as intake_area
from bot.monitoring import install as monitoring_area
from bot.monitoring.metrics import Metrics
from bot.monitoring.reachability import SLACK_SOCKET
from bot.oncall import install as oncall_area
from bot.outbox.worker import OutboxWorker
from bot.parts import AppParts, Job, Step
from bot.permissions import install as permissions_area
from bot.permissions.check import check_permissions
from bot.registry import CommandRegistry
from bot.runtime import Runtime
from bot.scheduler import Scheduler
from bot.slack_app import BotIdentity, build_bolt_app, forget_old_deliveries
from bot.slack_socket import SocketModeLink
from bot.slack_trust import response_url_check
from bot.transports import OutsideTransports
from integrations.retry import retrying
from integrations.slack.errors import SlackError
from integrations.slack.web import SlackWebClient

log = logging.getLogger(__name__)
# auth.test at start is tried until Slack answers: 1 s, 2 s, ... at most a minute apart.
IDENTITY_BACKOFF, IDENTITY_CAP = 1.0, 60.0


def _slack_failed(failure: BaseException) -> bool:
    return isinstance(failure, SlackError)


async def _run_step(step: Step, rt: Runtime) -> None:
    await step(rt)


def replica_id(config: Config) -> str:
    """This process's name in leases: `server.replica_id` when set (stable across restarts,
    so a restart takes its leases back at once), else unique to the process."""
    return config.server.replica_id or f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Bot:
    runtime: Runtime
    bolt: AsyncApp
    identity: BotIdentity
    worker: OutboxWorker
    web: SlackWebClient
    fleet: OpenFleet
    # The HTTP routes the areas add beside Slack's request URL (webhooks, probes).
    routes: list[BaseRoute] = field(default_factory=list)
    # What every replica starts beside serving (the heartbeat, reconciliation, ...).
    at_start: list[Step] = field(default_factory=list)
    run_worker: bool = True
    # Slack's requests over Socket Mode (`slack.mode: socket`); None in HTTP mode.
    socket_link: SocketModeLink | None = None
    # How long `stop` lets work after Slack acks and the outbox finish (`serve` sets
    # server.drain_seconds; in-process tests stop at once).
    drain_seconds: float = 0.0
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _worker_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.run_worker:
            self._worker_task = asyncio.create_task(self.worker.run_forever())
        self._tasks.append(asyncio.create_task(self._learn_identity()))
        self.runtime.scheduler.start()
        for step in self.at_start:
            self._tasks.append(asyncio.create_task(_run_step(step, self.runtime)))
        if self.socket_link is not None:
            # Not awaited: Slack may be unreachable at start, and the bot serves meanwhile.
            self._tasks.append(asyncio.create_task(self.socket_link.run()))

    async def _learn_identity(self) -> None:
        # Slack may be down at start; the bot serves meanwhile and learns its id later.
        policy = retrying(
            retries=None, when=_slack_failed, backoff=IDENTITY_BACKOFF, cap=IDENTITY_CAP, log=log
        )
        answer = await policy(self.web.call, "auth.test", {})
        self.identity.bot_user_id = answer.get("user_id")
        self.identity.bot_id = answer.get("bot_id")
        self.identity.team_id = answer.get("team_id")

    async def stop(self) -> None:
        """An orderly stop: no new jobs and the leader lease handed over at once; listeners
        still working after their ack, then the outbox, get `drain_seconds` to finish."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.drain_seconds

        def left() -> float:
            return max(0.0, deadline - loop.time())

        if self.socket_link is not None:
            # No new envelopes; Slack sends what this replica did not ack to another one.
            await self.socket_link.close()
        self.runtime.scheduler.shutdown()
        await self.runtime.scheduler.release()
        cut_short = await self.runtime.in_flight.drain(left())
        queued = await self._stop_worker(left)
        if cut_short or queued:
            log.warning("stopping with %d Slack requests unfinished, %d messages queued",
                        cut_short, queued)  # fmt: skip
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        # Fleet reads started after an ingest finish before their clients close.
        await self.runtime.background.drain()
        await self.fleet.aclose()
        await self.web.aclose()
        await self.runtime.engine.dispose()

    async def _stop_worker(self, left: Callable[[], float]) -> int:
        """Let the pass under way end (a send is never cut in half), then deliver what is
        due; returns how many messages stay queued for the next start or another replica."""
        task, self._worker_task = self._worker_task, None
        if task is None:
            return 0
        self.worker.stop()
        await asyncio.wait([task], timeout=left())
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return 0
        if left() <= 0:
            return 0
        try:
            return await self.worker.flush(left())
        except Exception:  # the database went first; the rows are still there for later
            log.exception("outbox flush at stop failed")
            return 0


def install_core(parts: AppParts) -> None:
    """The foundation's own sweep: Slack delivery ids past Slack's retry window."""
    parts.jobs.append(Job("forget-slack-deliveries", 3600, forget_old_deliveries))


# Each area plugs in through its own install(parts); the order is the order in which
# their handoff sections and jobs are listed.
AREAS: tuple[Callable[[AppParts], None], ...] = (
    install_core,
    permissions_area.install,
    audit_area.install,
    actions_area.install,
    incidents_area.install,
    intake_area.install,
    oncall_area.install,
    automation_area.install,
    campaigns_area.install,
    monitoring_area.install,
    home_area.install,
    console_area.install,
    command_groups.install,
)


def assemble(config: Config) -> AppParts:
    """Every area's and every command group's contribution, before the runtime exists."""
    parts = AppParts(config)
    for install in AREAS:
        install(parts)
    return parts


def command_registry(config: Config) -> CommandRegistry[Runtime]:
    """The slash commands alone (the manifest lists them)."""
    return assemble(config).commands


def _scheduler(
    config: Config, sessions: async_sessionmaker[AsyncSession], owner: str, clock: Clock
) -> Scheduler:
    return Scheduler(
        sessions,
        owner=owner,
        ttl_seconds=config.scheduler.lease_seconds,
        renew_seconds=config.scheduler.renew_seconds,
        clock=clock,
    )


def freeze(
    parts: AppParts,
    *,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    worker: OutboxWorker,
    web: SlackWebClient,
    owner: str,
    clock: Clock,
    metrics: Metrics,
    transports: OutsideTransports,
) -> Runtime:
    """The runtime from the assembled parts and the opened services; nothing changes it
    afterwards (docs/architecture.md, "How an area plugs in")."""
    assert parts.fleet is not None, "open the fleet before the runtime freezes"
    return Runtime(
        config=parts.config,
        engine=engine,
        sessions=sessions,
        fleet=parts.fleet,
        commands=parts.commands,
        buttons=parts.buttons,
        scheduler=_scheduler(parts.config, sessions, owner, clock),
        wake_outbox=worker.wake,
        slack_direct=web,
        hooks=parts.hooks.freeze(parts.handoff_sections),
        clock=clock,
        started_at=clock(),
        metrics=metrics,
        transports=transports,
    )


async def open_bot(
    config: Config,
    *,
    clock: Clock = utcnow,
    owner: str | None = None,
    run_worker: bool = True,
    customize: Callable[[AppParts], None] | None = None,
    transports: OutsideTransports | None = None,
) -> Bot:
    """Everything wired and the schema at head; call `start()` to begin background work.
    `customize` sees the parts before they freeze (tests swap the page sink there), and
    `transports` replaces the network of the clients of outside systems (tests)."""
    engine = create_engine(config.storage.url)
    await upgrade(engine)
    metrics = Metrics(clock)
    fleet = await open_fleet(config.fleet, observe=metrics.fleet_call)
    parts = assemble(config)
    parts.fleet = fleet.router
    if customize is not None:
        customize(parts)
    check_permissions(parts)
    owner = owner or replica_id(config)
    web = SlackWebClient(
        config.slack.bot_token.get_secret_value(),
        str(config.slack.api_url),
        timeout=config.slack.timeout_seconds,
        on_error=metrics.slack_error,
        on_answer=metrics.slack_answered,
        response_url_allowed=response_url_check(str(config.slack.api_url)),
    )
    sessions = session_factory(engine)
    worker = OutboxWorker(sessions, web, config.outbox, owner=owner, clock=clock)
    runtime = freeze(
        parts,
        engine=engine,
        sessions=sessions,
        worker=worker,
        web=web,
        owner=owner,
        clock=clock,
        metrics=metrics,
        transports=transports or OutsideTransports(),
    )
    for job in parts.jobs:
        runtime.scheduler.every(job.name, job.seconds, partial(job.run, runtime))
    for step in parts.on_open:
        await step(runtime)
    identity = BotIdentity(config.slack.bot_token.get_secret_value())
    bolt = build_bolt_app(runtime, identity)
    return Bot(
        runtime,
        bolt,
        identity,
        worker,
        web,
        fleet,
        routes=[route for make in parts.routes for route in make(runtime)],
        at_start=list(parts.at_start),
        run_worker=run_worker,
        socket_link=_socket_link(config, bolt, metrics),
    )


def _socket_link(config: Config, bolt: AsyncApp, metrics: Metrics) -> SocketModeLink | None:
    if config.slack.mode != "socket":
        return None
    assert config.slack.app_token is not None  # the config refuses socket mode without it
    reach = metrics.reachability
    return SocketModeLink(
        bolt,
        config.slack.app_token.get_secret_value(),
        connected=lambda: reach.answered(SLACK_SOCKET),
        lost=lambda why: reach.failed(SLACK_SOCKET, why),
    )
