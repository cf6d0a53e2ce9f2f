"""Checkpoints: the chain head `(seq, hash)` published where the database cannot reach.

A line appended to the checkpoint log (bot.audit.published) and a message in the audit
channel. Whoever can rewrite the database can cut its tail and reset the head so that what
remains verifies; they cannot unpost the channel message or unwrite the log's line, and
`verify` then reports the rows missing after it. When a checkpoint is due (every N rows,
or on the timer) is bot.audit.checkpoint_schedule's question.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import messages, outbox
from bot.audit.hash_chain import KeyRing, at_text
from bot.audit.published import (
    Checkpoint,
    PublishedLogUnreadable,
    append_published,
    last_published,
)
from bot.audit.stream import read_head
from bot.clock import Clock, utcnow
from bot.config import Config
from bot.db.unit_of_work import writing
from bot.outbox import Message

log = logging.getLogger(__name__)


def _last_in_file(config: Config) -> Checkpoint | None:
    path = config.audit.checkpoint_file
    if path is None:
        return None
    try:
        return last_published(path)
    except PublishedLogUnreadable as exc:
        # Publishing still appends: the damaged lines stay for `verify` to report.
        log.error("%s; publishing the head anyway", exc)
        return None


async def publish_checkpoint(
    sessions: async_sessionmaker[AsyncSession],
    *,
    config: Config,
    clock: Clock = utcnow,
    force: bool = False,
) -> Checkpoint | None:
    """Publish the current head to `channels.audit` (outbox) and `audit.checkpoint_file`.

    Returns None, publishing nothing, when the head has not moved since the file's last
    checkpoint (an idle bot does not fill its channel), unless `force`.
    """
    path = config.audit.checkpoint_file
    key_id = KeyRing.from_config(config.audit).current.key_id
    async with writing(sessions) as session:
        head = await read_head(await session.connection())
        if head is None:
            raise RuntimeError("audit_head has no row; run `watchkeeper db upgrade`")
        now: datetime = clock()
        checkpoint = Checkpoint(seq=head[0], hash=head[1], at=at_text(now), key_id=key_id)
        last = _last_in_file(config)
        unchanged = last is not None and (last.seq, last.hash) == (checkpoint.seq, checkpoint.hash)
        if unchanged and not force:
            return None
        channel = config.channels.audit
        if channel is not None:
            text = messages.audit_checkpoint(checkpoint.seq, checkpoint.hash, checkpoint.line())
            outbox.post(session, channel=channel, message=Message(text=text), clock=clock)
    # After the commit, so the file never records a checkpoint the channel will not get.
    if path is not None:
        append_published(path, checkpoint)
    if channel is None and path is None:
        log.warning(
            "audit checkpoint %s published nowhere: set channels.audit or audit.checkpoint_file",
            checkpoint.seq,
        )
    return checkpoint
