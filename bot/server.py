"""The running bot: storage, fleet, Bolt app and outbox worker, started and stopped as one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from dataclasses import dataclass, field

from slack_bolt.async_app import AsyncApp

from bot.audit import cli_actor, publish_checkpoint, record_config_loaded
from bot.clock import Clock, utcnow
from bot.config import Config
from bot.db.engine import create_engine, session_factory
from bot.db.migrate import upgrade
from bot.fleet_backends import OpenFleet, open_fleet
from bot.outbox.worker import OutboxWorker
from bot.registry import CommandRegistry
from bot.runtime import Runtime
from bot.slack_app import BotIdentity, build_bolt_app
from commands import register_all
from integrations.slack.errors import SlackError
from integrations.slack.web import SlackWebClient

log = logging.getLogger(__name__)


def replica_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Bot:
    runtime: Runtime
    bolt: AsyncApp
    identity: BotIdentity
    worker: OutboxWorker
    web: SlackWebClient
    fleet: OpenFleet
    run_worker: bool = True
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        if self.run_worker:
            self._tasks.append(asyncio.create_task(self.worker.run_forever()))
        self._tasks.append(asyncio.create_task(self._learn_identity()))
        if self.runtime.config.audit.key is not None:
            self._tasks.append(asyncio.create_task(self._publish_checkpoints()))

    async def _publish_checkpoints(self) -> None:
        # Until the scheduler with its leader lease arrives, every replica publishes; a
        # checkpoint is idempotent (same head, same line), so extra ones are only noise.
        interval = self.runtime.config.audit.checkpoint_minutes * 60
        while True:
            await asyncio.sleep(interval)
            try:
                await publish_checkpoint(
                    self.runtime.sessions, config=self.runtime.config, clock=self.runtime.clock
                )
                self.runtime.wake_outbox()
            except (
                Exception
            ):  # a failed checkpoint is retried next interval; it must not kill the bot
                log.exception("audit checkpoint failed")

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
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.fleet.aclose()
        await self.web.aclose()
        await self.runtime.engine.dispose()


async def open_bot(
    config: Config, *, clock: Clock = utcnow, owner: str | None = None, run_worker: bool = True
) -> Bot:
    """Everything wired and the schema at head; call `start()` to begin background work."""
    engine = create_engine(config.storage.url)
    await upgrade(engine)
    fleet = await open_fleet(config.fleet)
    registry = register_all(CommandRegistry())
    runtime = Runtime(
        config=config,
        engine=engine,
        sessions=session_factory(engine),
        fleet=fleet.router,
        registry=registry,
        clock=clock,
    )
    token = config.slack.bot_token.get_secret_value()
    web = SlackWebClient(token, str(config.slack.api_url))
    worker = OutboxWorker(
        runtime.sessions, web, config.outbox, owner=owner or replica_id(), clock=clock
    )
    runtime.wake_outbox = worker.wake
    if config.audit.key is not None:
        async with runtime.sessions() as session, session.begin():
            await record_config_loaded(session, config, cli_actor(), clock=clock)
    else:
        log.warning("audit.key is not set: nothing will be recorded in the audit log")
    identity = BotIdentity(token)
    return Bot(runtime, build_bolt_app(runtime, identity), identity, worker, web, fleet, run_worker)
