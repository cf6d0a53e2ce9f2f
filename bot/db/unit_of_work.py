"""The one way to open a write transaction: `async with writing(sessions) as session:`.

Every state change of the bot (an action's move, an incident, an outbox row, an audit
row) happens inside one of these, so the shape of a write transaction is decided here
once (docs/architecture.md, "Transactions"):

- It commits when the block ends and rolls back when it raises; nothing else commits.
- PostgreSQL plans per statement. psycopg prepares a statement it has run five times,
  and PostgreSQL may then keep a generic plan made while the tables were small
  (sequential scans) long after they have grown: a fresh deployment's first storm would
  run on those plans.
- `reads_decide=True` is for a transaction whose reads decide its writes (ingest: which
  incident a page joins). On SQLite it takes the database's write lock first: pysqlite
  only sends BEGIN before the first write, so without it the reads would see the
  database as it was before another writer's commit, and a render from such a read could
  overtake a newer one. PostgreSQL needs nothing here: its row locks do that work.

Reads that change nothing use `sessions()` without a transaction block.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

# A no-op UPDATE of a table every schema has (the first migration's) takes the write lock.
_SQLITE_LOCK = text("UPDATE outbox_lanes SET lane = lane WHERE 1 = 0")
_PG_PLANS = text("SET LOCAL plan_cache_mode = force_custom_plan")


@asynccontextmanager
async def writing(
    sessions: async_sessionmaker[AsyncSession], *, reads_decide: bool = False
) -> AsyncIterator[AsyncSession]:
    """A session inside a transaction that commits on exit (see the module docstring)."""
    async with sessions() as session, session.begin():
        await _start(session, reads_decide=reads_decide)
        yield session


async def _start(session: AsyncSession, *, reads_decide: bool) -> None:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        await session.execute(_PG_PLANS)
    elif reads_decide:
        await session.execute(_SQLITE_LOCK)
