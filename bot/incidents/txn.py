"""How every write transaction of the incidents core starts.

- SQLite: with a write. pysqlite only sends BEGIN before the first write, so the reads of
  a read-then-write transaction would see the database as it was before, and a render of
  a root from such a read could overtake a newer one. A no-op UPDATE takes the database's
  write lock first, so what we read is what we change.
- PostgreSQL: plans per statement. psycopg prepares a statement it has run five times,
  and PostgreSQL may then keep a generic plan made while the tables were small
  (sequential scans) long after they have grown: a fresh deployment's first storm would
  run on those plans.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.runtime import Runtime

_SQLITE_LOCK = text("UPDATE incident_storms SET id = id WHERE 1 = 0")
_PG_PLANS = text("SET LOCAL plan_cache_mode = force_custom_plan")


async def start(session: AsyncSession, dialect: str) -> None:
    await session.execute(_PG_PLANS if dialect == "postgresql" else _SQLITE_LOCK)


@asynccontextmanager
async def writing(rt: Runtime) -> AsyncIterator[AsyncSession]:
    """A session in a transaction that commits on exit, started as above."""
    async with rt.sessions() as session, session.begin():
        await start(session, rt.engine.dialect.name)
        yield session
