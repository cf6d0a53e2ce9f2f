"""Checkpoints: published to the file and the audit channel; read back from either."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import messages
from bot.audit.checkpoint import publish_checkpoint
from bot.audit.published import Checkpoint, read_published, scan_channel_copy
from bot.config import parse_config
from bot.db.engine import session_factory
from bot.db.models import OutboxMessage
from tests.conftest import base_config
from tests.test_audit_support import append_rows, stepping_clock


def test_checkpoints_are_read_back_from_a_copy_of_the_channel_history() -> None:
    published = [
        Checkpoint(seq=10, hash="a" * 64, at="2024-05-01T03:00:00.000000Z", key_id="k1"),
        Checkpoint(seq=25, hash="b" * 64, at="2024-05-01T03:15:00.000000Z", key_id="k1"),
    ]
    history = ["[03:00] watchkeeper joined the channel"]
    history += [messages.audit_checkpoint(c.seq, c.hash, c.line()) for c in published]
    history.append("[03:20] carol: {not a checkpoint}")
    found = scan_channel_copy("\n".join(history).splitlines())
    assert [(c.seq, c.hash, c.number) for c in found] == [(10, "a" * 64, 1), (25, "b" * 64, 2)]
    assert found[1].label() == "#2 (seq 25, published 2024-05-01T03:15:00.000000Z)"


async def test_without_an_audit_channel_the_file_alone_is_written(
    engine: AsyncEngine, db_url: str, tmp_path: Path
) -> None:
    raw = base_config(storage={"url": db_url})
    raw["channels"]["audit"] = None
    raw["audit"]["checkpoint_file"] = str(tmp_path / "cp" / "checkpoints.log")
    config = parse_config(raw, {})
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        await append_rows(session, 3)
    published = await publish_checkpoint(sessions, config=config, clock=stepping_clock())
    assert published is not None and published.seq == 3
    assert read_published(tmp_path / "cp" / "checkpoints.log") == [
        Checkpoint(published.seq, published.hash, published.at, published.key_id, number=1)
    ]
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(OutboxMessage)) == 0
