"""How the audit log plugs into the bot: the loaded configuration recorded when the bot
opens, and the chain head published on the scheduler leader when a checkpoint is due
(bot.audit.checkpoint_schedule)."""

from __future__ import annotations

import logging

from bot.audit.actors import cli_actor
from bot.audit.checkpoint_schedule import POLL_SECONDS, CheckpointSchedule
from bot.audit.writer import record_config_loaded
from bot.db.unit_of_work import writing
from bot.parts import AppParts, Job
from bot.runtime import Runtime

log = logging.getLogger(__name__)

CHECKPOINT_JOB = "audit-checkpoint"


def install(parts: AppParts) -> None:
    audit = parts.config.audit
    if audit.key is None:
        log.warning("audit.key is not set: nothing will be recorded in the audit log")
        return
    parts.on_open.append(record_loaded_config)
    # One schedule per assembled bot: two bots in one process keep their own.
    parts.jobs.append(Job(CHECKPOINT_JOB, POLL_SECONDS, CheckpointSchedule().tick))


async def record_loaded_config(rt: Runtime) -> None:
    async with writing(rt.sessions) as session:
        await record_config_loaded(session, rt.config, cli_actor(), clock=rt.clock)
