"""Reading the log in order, a batch at a time, with `at` already in its hashed text form.

Rows come through a server-side cursor (PostgreSQL) or chunked fetches (SQLite), so a
million rows cost the memory of one batch. `at` is formatted by the database itself: parsing
it into a `datetime` and back would cost more than the hash.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, String, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.audit.models import HEAD, HEAD_ID, LOG

BATCH = 5000

# A row as `chain_columns` selects it: seq, at, actor, actor_name, action, target, params,
# outcome, ref, key_id, prev_hash, hash.
ChainRow = Sequence[Any]

# Python formats `at` as 2024-05-01T03:12:00.123456Z (chain.at_text); so do these.
PG_AT_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'


def at_text_column(dialect: str) -> ColumnElement[str]:
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", LOG.c.at), PG_AT_FORMAT, type_=String)
    # SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC, see UTCDateTime).
    return func.replace(type_coerce(LOG.c.at, String), " ", "T", type_=String).concat("Z")


def chain_columns(dialect: str) -> tuple[ColumnElement[Any], ...]:
    """In the order `chain.row_text` takes them, then `prev_hash, hash`."""
    c = LOG.c
    return (
        c.seq,
        at_text_column(dialect).label("at"),
        c.actor,
        c.actor_name,
        c.action,
        c.target,
        c.params,
        c.outcome,
        c.ref,
        c.key_id,
        c.prev_hash,
        c.hash,
    )


@asynccontextmanager
async def stream_query(
    conn: AsyncConnection, stmt: Select[Any], batch: int = BATCH
) -> AsyncIterator[AsyncIterator[Sequence[Row[Any]]]]:
    """`async with stream_query(conn, stmt) as batches: async for rows in batches: ...`"""
    result = await conn.stream(stmt.execution_options(yield_per=batch))
    try:
        yield result.partitions(batch)
    finally:
        await result.close()


def chain_query(dialect: str, *where: ColumnElement[bool]) -> Select[Any]:
    return select(*chain_columns(dialect)).where(*where).order_by(LOG.c.seq)


async def rows_after(conn: AsyncConnection, seq: int | None, limit: int) -> list[ChainRow]:
    """Up to `limit` rows with a seq above `seq` (None: from the first), as `chain_columns`."""
    where = [] if seq is None else [LOG.c.seq > seq]
    stmt = chain_query(conn.dialect.name, *where).limit(limit)
    return list((await conn.execute(stmt)).all())


async def read_head(conn: AsyncConnection) -> tuple[int, str] | None:
    """The chain head `(seq, hash)`, or None when the head row is gone."""
    row = (
        await conn.execute(select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.id == HEAD_ID))
    ).one_or_none()
    return None if row is None else (int(row[0]), str(row[1]))
