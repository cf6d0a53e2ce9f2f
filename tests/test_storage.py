"""The schema migrates on both SQLite and PostgreSQL, idempotently, and /readyz can tell."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.migrate import schema_state, upgrade


async def test_schema_is_at_head_and_upgrade_is_idempotent(engine: AsyncEngine) -> None:
    current, head = await schema_state(engine)
    assert current == head is not None
    await upgrade(engine)
    assert await schema_state(engine) == (current, head)
