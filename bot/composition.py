"""The running bot: storage, fleet, Bolt app and outbox worker, started and stopped as one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from slack_bolt.async_app import AsyncApp

from bot.actions.handoff_sections import install_handoff_sections as install_action_sections
from bot.actions.tracking import reconcile_at_start, schedule_action_jobs
from bot.audit import cli_actor, publish_checkpoint, record_config_loaded
from bot.automation.wiring import install as install_automation
from bot.clock import Clock, utcnow
from bot.config import Config
from bot.db.engine import create_engine, session_factory
from bot.db.migrate import upgrade
from bot.db.unit_of_work import writing
from bot.fleet_backends import OpenFleet, open_fleet
from bot.incidents import followup as incident_followups
from bot.incidents.wiring import install as install_incidents
from bot.monitoring.heartbeat import HealthMonitor
from bot.oncall.handoff_posting import schedule_handoffs
from bot.outbox.worker import OutboxWorker
from bot.registry import CommandRegistry
from bot.runtime import Runtime
from bot.scheduler import Scheduler
from bot.slack_app import BotIdentity, build_bolt_app, forget_old_deliveries
from commands import register_all
from commands.fleet_actions import register_buttons
from integrations.slack.errors import SlackError
from integrations.slack.web import SlackWebClient

log = logging.getLogger(__name__)


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
    run_worker: bool = True
    # How long `stop` lets work after Slack acks and the outbox finish (`serve` sets
    # server.drain_seconds; in-process tests stop at once).
    drain_seconds: float = 0.0
    # The heartbeat, checked on every replica (bot.monitoring.heartbeat).
    monitor: HealthMonitor | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _worker_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.run_worker:
            self._worker_task = asyncio.create_task(self.worker.run_forever())
        self._tasks.append(asyncio.create_task(self._learn_identity()))
        if self.monitor is not None:
            self._tasks.append(asyncio.create_task(self.monitor.run_forever()))
        self.runtime.scheduler.start()
        rotations = [r for r in self.runtime.config.oncall.rotations if r.from_pagerduty]
        warm = self.runtime.rosters.pagerduty.keep_warm(rotations, self.runtime.clock)
        self._tasks.append(asyncio.create_task(warm))
        # Actions left running by a previous process are looked up, never re-run.
        self._tasks.append(asyncio.create_task(reconcile_at_start(self.runtime)))

    async def _learn_identity(self) -> None:
        # Slack may be down at start; the bot serves meanwhile and learns its id later.
        delay = 1.0
        while self.identity.bot_user_id is None:
            try:
                answer = await self.web.call("auth.test", {})
                self.identity.bot_user_id = answer.get("user_id")
                self.identity.bot_id = answer.get("bot_id")
                self.identity.team_id = answer.get("team_id")
            except SlackError as exc:
                log.warning("auth.test failed (%s); retrying in %.0fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)

    async def stop(self) -> None:
        """An orderly stop: no new jobs and the leader lease handed over at once; listeners
        still working after their ack, then the outbox, get `drain_seconds` to finish."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.drain_seconds

        def left() -> float:
            return max(0.0, deadline - loop.time())

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
        await incident_followups.drain()
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


def schedule_core_jobs(rt: Runtime) -> None:
    """The foundation's sweeps; each area adds its own jobs where it is wired."""

    async def checkpoint() -> None:
        await publish_checkpoint(rt.sessions, config=rt.config, clock=rt.clock)
        rt.wake_outbox()

    if rt.config.audit.key is not None:
        rt.scheduler.every("audit-checkpoint", rt.config.audit.checkpoint_minutes * 60, checkpoint)

    async def forget() -> None:
        await forget_old_deliveries(rt)

    rt.scheduler.every("forget-slack-deliveries", 3600, forget)
    schedule_handoffs(rt)


async def open_bot(
    config: Config, *, clock: Clock = utcnow, owner: str | None = None, run_worker: bool = True
) -> Bot:
    """Everything wired and the schema at head; call `start()` to begin background work."""
    engine = create_engine(config.storage.url)
    await upgrade(engine)
    fleet = await open_fleet(config.fleet)
    registry = register_all(CommandRegistry())
    sessions = session_factory(engine)
    owner = owner or replica_id(config)
    runtime = Runtime(
        config=config,
        engine=engine,
        sessions=sessions,
        fleet=fleet.router,
        registry=registry,
        scheduler=Scheduler(
            sessions,
            owner=owner,
            ttl_seconds=config.scheduler.lease_seconds,
            renew_seconds=config.scheduler.renew_seconds,
            clock=clock,
        ),
        clock=clock,
    )
    token = config.slack.bot_token.get_secret_value()
    web = SlackWebClient(
        token,
        str(config.slack.api_url),
        timeout=config.slack.timeout_seconds,
        on_error=runtime.metrics.slack_error,
    )
    worker = OutboxWorker(runtime.sessions, web, config.outbox, owner=owner, clock=clock)
    runtime.wake_outbox = worker.wake
    runtime.slack_direct = web
    if config.audit.key is not None:
        async with writing(runtime.sessions) as session:
            await record_config_loaded(session, config, cli_actor(), clock=clock)
    else:
        log.warning("audit.key is not set: nothing will be recorded in the audit log")
    schedule_core_jobs(runtime)
    schedule_action_jobs(runtime)
    install_action_sections(runtime)
    register_buttons(runtime.interactions)
    install_incidents(runtime)
    install_automation(runtime)
    identity = BotIdentity(token)
    monitor = HealthMonitor(runtime, owner=owner, leader=lambda: runtime.scheduler.is_leader)
    bolt = build_bolt_app(runtime, identity)
    return Bot(runtime, bolt, identity, worker, web, fleet, run_worker, monitor=monitor)
