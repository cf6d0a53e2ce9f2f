"""Checkpoints: the chain head `(seq, hash)` published where the database cannot reach.

A line in a file and a message in the audit channel. Whoever can rewrite the database can
cut its tail and reset the head so that what remains verifies; they cannot unpost the
channel message, and `verify --checkpoints` then reports the cut.

A checkpoint line is canonical JSON: `{"at":...,"hash":...,"key_id":...,"seq":...}`. The
reader accepts any text with one such object per line, so a copy of the channel's history
works as well as the file.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import messages, outbox
from bot.audit.canonical import canonical_json
from bot.audit.hash_chain import KeyRing, at_text
from bot.audit.stream import read_head
from bot.clock import Clock, utcnow
from bot.config import Config
from bot.db.unit_of_work import writing
from bot.outbox import Message

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str
    key_id: str
    # Position in the file it was read from (1-based); 0 when just published.
    number: int = 0

    def line(self) -> str:
        fields = {"at": self.at, "hash": self.hash, "key_id": self.key_id, "seq": self.seq}
        return canonical_json(fields)

    def label(self) -> str:
        number = f"#{self.number} " if self.number else ""
        return f"{number}(seq {self.seq}, published {self.at})"


def parse_checkpoints(lines: Iterable[str]) -> list[Checkpoint]:
    """Checkpoints found in `lines`, in order; lines without one are skipped."""
    found: list[Checkpoint] = []
    for line in lines:
        start, end = line.find('{"'), line.rfind("}")
        if start < 0 or end < start:
            continue
        try:
            data = json.loads(line[start : end + 1])
            checkpoint = Checkpoint(
                seq=int(data["seq"]),
                hash=str(data["hash"]),
                at=str(data["at"]),
                key_id=str(data.get("key_id", "")),
                number=len(found) + 1,
            )
        except (ValueError, KeyError, TypeError):
            continue
        found.append(checkpoint)
    return found


def read_checkpoints(path: Path) -> list[Checkpoint]:
    with path.open(encoding="utf-8") as lines:
        return parse_checkpoints(lines)


def _last_checkpoint(path: Path) -> Checkpoint | None:
    try:
        with path.open("rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 4096))
            tail = f.read().decode("utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return None
    found = parse_checkpoints(tail)
    return found[-1] if found else None


def _append_line(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


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
        last = _last_checkpoint(path) if path is not None else None
        unchanged = last is not None and (last.seq, last.hash) == (checkpoint.seq, checkpoint.hash)
        if unchanged and not force:
            return None
        channel = config.channels.audit
        if channel is not None:
            text = messages.audit_checkpoint(checkpoint.seq, checkpoint.hash, checkpoint.line())
            outbox.post(session, channel=channel, message=Message(text=text), clock=clock)
    # After the commit, so the file never records a checkpoint the channel will not get.
    if path is not None:
        _append_line(path, checkpoint.line())
    if channel is None and path is None:
        log.warning(
            "audit checkpoint %s published nowhere: set channels.audit or audit.checkpoint_file",
            checkpoint.seq,
        )
    return checkpoint
