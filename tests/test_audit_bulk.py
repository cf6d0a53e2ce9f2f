"""`append_many`: several rows in one head bump, the same rows as one `append` each."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.audit.actors import AUTOMATION, Actor
from bot.audit.models import HEAD, LOG
from bot.audit.verifier import verify
from bot.audit.writer import AuditRecord, NewEntry, append, append_many
from bot.db.engine import session_factory
from tests.test_audit_support import KEYS, append_rows, varied_entry

AT = datetime(2024, 5, 1, 3, 0, tzinfo=UTC)


def entries(count: int) -> list[NewEntry]:
    return [varied_entry(i) for i in range(count)]


async def test_append_many_writes_what_single_appends_would(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        await append_rows(session, 2)  # the batch continues a chain, not the genesis
    batch = entries(12)
    # What one `append` per entry writes, rolled back: the head is where it was after.
    singles: list[AuditRecord] = []
    async with sessions() as session, session.begin():
        for e in batch:
            singles.append(await append(
                session, key=KEYS, actor=e.actor, action=e.action, target=e.target,
                params=e.params, outcome=e.outcome, ref=e.ref, clock=lambda: AT,
            ))  # fmt: skip
        await session.rollback()
    async with sessions() as session, session.begin():
        many = await append_many(session, key=KEYS, entries=batch, clock=lambda: AT)
    assert many == singles
    assert [r.seq for r in many] == list(range(3, 15))
    assert [r.prev_hash for r in many[1:]] == [r.hash for r in many[:-1]]
    async with engine.connect() as conn:
        head = (await conn.execute(select(HEAD.c.seq, HEAD.c.hash))).one()
        stored = (await conn.execute(select(LOG).where(LOG.c.seq >= 3).order_by(LOG.c.seq))).all()
        second = (await conn.execute(select(LOG.c.hash).where(LOG.c.seq == 2))).scalar_one()
        report = await verify(conn, KEYS)
    assert tuple(head) == (14, many[-1].hash)
    assert many[0].prev_hash == second
    assert [AuditRecord(**row._mapping) for row in stored] == many
    assert report.ok and report.rows_checked == 14 and report.last_seq == 14


async def test_an_entry_that_cannot_be_recorded_stops_the_batch_before_any_statement(
    engine: AsyncEngine,
) -> None:
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statements.append(args[2])

    sessions = session_factory(engine)
    good = entries(3)
    unsafe = NewEntry(
        actor=AUTOMATION, action="incident.opened", target="db", outcome="triggered",
        params={"thing": object()},
    )  # fmt: skip
    too_long = NewEntry(
        actor=Actor.slack("UALICE01", "alice"), action="incident.opened", target="x" * 10_000,
        outcome="triggered",
    )  # fmt: skip
    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        for bad, error in ((unsafe, TypeError), (too_long, ValueError)):
            async with sessions() as session, session.begin():
                with pytest.raises(error):
                    await append_many(session, key=KEYS, entries=[*good, bad], clock=lambda: AT)
                assert statements == []
                # An empty batch locks nothing either.
                assert await append_many(session, key=KEYS, entries=[]) == []
                assert statements == []
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
    async with engine.connect() as conn:
        assert (await conn.execute(select(HEAD.c.seq))).scalar_one() == 0
        assert (await conn.execute(select(LOG.c.seq))).first() is None
