"""When to publish a checkpoint: after `audit.checkpoint_rows` rows, or on the timer.

Rows appended after the last published head are the ones a deletion could remove unseen,
so the count bounds that window whatever the traffic, and the timer (`checkpoint_minutes`)
bounds it in time on a quiet bot. The leader looks every `POLL_SECONDS`: one read of the
one-row head and of the log's last line, nothing published while neither limit is reached.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.audit.checkpoint import publish_checkpoint
from bot.audit.hash_chain import at_text
from bot.audit.published import Checkpoint, PublishedLogUnreadable, last_published
from bot.audit.stream import read_head
from bot.runtime import Runtime

log = logging.getLogger(__name__)

# How late a count-triggered checkpoint can be: rows appended within this many seconds
# after the count is reached ride on the same checkpoint.
POLL_SECONDS = 5.0


def _published_at(checkpoint: Checkpoint) -> datetime | None:
    try:
        return datetime.fromisoformat(checkpoint.at.replace("Z", "+00:00"))
    except ValueError:
        return None


def checkpoint_due(
    *,
    head: tuple[int, str],
    last: Checkpoint | None,
    now: datetime,
    every_rows: int,
    every: timedelta,
) -> str | None:
    """Why a checkpoint is due now ("first", "rows", "timer"), or None when it is not."""
    if last is None:
        return "first"
    moved = head[0] - last.seq
    if moved <= 0:
        # Not moved; or behind the published head, which only a cut explains: publishing
        # would add nothing, and the published line already lets `verify` name the cut.
        return None
    if moved >= every_rows:
        return "rows"
    at = _published_at(last)
    if at is None or now - at >= every:
        return "timer"
    return None


@dataclass
class CheckpointSchedule:
    """One bot's schedule. Without a checkpoint file the last head it published is kept
    here (a new leader starts counting from the head it finds); with one, the file's last
    line is the truth, so a restart or another leader goes on where the log stops."""

    remembered: Checkpoint | None = None
    # `run_now` (tests, an operator's tool) may overlap a scheduled run; one at a time
    # keeps two runs from publishing the same head twice.
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def _last(self, rt: Runtime, head: tuple[int, str]) -> Checkpoint | _Vanished | None:
        path = rt.config.audit.checkpoint_file
        if path is None:
            if self.remembered is None:
                self.remembered = Checkpoint(head[0], head[1], at_text(rt.clock()), key_id="")
            return self.remembered
        try:
            last = last_published(path)
        except PublishedLogUnreadable as exc:
            # Appending leaves the damaged lines in place for `verify` to report.
            log.error("%s; publishing the head anyway", exc)
            return None
        if last is None and self.remembered is not None:
            # Recreating the log would hide that its history was lost: `verify` fails
            # until someone restores it or starts a new one on purpose.
            log.error(
                "audit checkpoint file %s vanished or was emptied after seq %d was published"
                " to it; not recreating it: restore it, or start a new log with"
                " `watchkeeper audit checkpoint --force`",
                path,
                self.remembered.seq,
            )
            return VANISHED
        return last

    async def tick(self, rt: Runtime) -> None:
        """The scheduled job: publish the head when a checkpoint is due."""
        async with self._lock:
            async with rt.engine.connect() as conn:
                head = await read_head(conn)
            if head is None:
                raise RuntimeError("audit_head has no row; run `watchkeeper db upgrade`")
            last = self._last(rt, head)
            if isinstance(last, _Vanished):
                return
            audit = rt.config.audit
            reason = checkpoint_due(
                head=head,
                last=last,
                now=rt.clock(),
                every_rows=audit.checkpoint_rows,
                every=timedelta(minutes=audit.checkpoint_minutes),
            )
            if reason is None:
                if last is not None and (last.seq, last.hash) == head:
                    # Nothing new since the published head: the anchor is current, which
                    # is what the "checkpoint overdue" alert asks (deploy/prometheus).
                    rt.metrics.audit_checkpointed(rt.clock())
                return
            published = await publish_checkpoint(rt.sessions, config=rt.config, clock=rt.clock)
            if published is not None:
                log.info("audit checkpoint at seq %d (%s)", published.seq, reason)
                self.remembered = published
                rt.metrics.audit_checkpointed(rt.clock())
                rt.wake_outbox()


class _Vanished:
    """The checkpoint log this bot wrote to is gone: publish nothing (see `_last`)."""


VANISHED = _Vanished()
