"""How the audit log plugs into the bot: the loaded configuration recorded when the bot
opens, and the chain head published on the scheduler leader (bot.audit.checkpoint)."""

from __future__ import annotations

import logging

from bot.audit.actors import cli_actor
from bot.audit.checkpoint import publish_checkpoint
from bot.audit.writer import record_config_loaded
from bot.db.unit_of_work import writing
from bot.parts import AppParts, Job
from bot.runtime import Runtime

log = logging.getLogger(__name__)


def install(parts: AppParts) -> None:
    audit = parts.config.audit
    if audit.key is None:
        log.warning("audit.key is not set: nothing will be recorded in the audit log")
        return
    parts.on_open.append(record_loaded_config)
    parts.jobs.append(Job("audit-checkpoint", audit.checkpoint_minutes * 60, checkpoint))


async def record_loaded_config(rt: Runtime) -> None:
    async with writing(rt.sessions) as session:
        await record_config_loaded(session, rt.config, cli_actor(), clock=rt.clock)


async def checkpoint(rt: Runtime) -> None:
    await publish_checkpoint(rt.sessions, config=rt.config, clock=rt.clock)
    rt.metrics.audit_checkpointed(rt.clock())
    rt.wake_outbox()
