"""Verify's hot loop: the cheapest way each database can hand rows to the hash.

Most of verify's time is the driver turning column values into Python objects, so each
dialect gets its own query: SQLite returns plain columns (`at` as stored), PostgreSQL one
string per row joined with U+001F, which psycopg decodes several times faster than twelve
values. The loops only ever *accept* a row whose hash matches; anything else (a bad row, or
a field that happens to contain U+001F) goes back to `verify`, which re-reads that row the
slow, canonical way (`stream.chain_columns`, `chain.row_text`) before judging it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from json.encoder import encode_basestring as _quote
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Dialect,
    Select,
    String,
    bindparam,
    func,
    literal,
    select,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.compiler import SQLCompiler

from bot.audit.hash_chain import ChainKey
from bot.audit.models import LOG
from bot.audit.stream import PG_AT_FORMAT

SEP = "\x1f"
_NO_REF = "N"
_REF = "S"


def fast_query(dialect: str, *where: ColumnElement[bool]) -> Select[Any]:
    c = LOG.c
    if dialect == "postgresql":
        at = func.to_char(func.timezone("UTC", c.at), PG_AT_FORMAT, type_=String)
        # The prefix keeps NULL apart from every string, '' and 'N' included.
        ref = func.coalesce(literal(_REF, String) + c.ref, literal(_NO_REF, String))
        fields = [
            *(c.seq, at, c.actor, c.actor_name, c.action, c.target, c.params, c.outcome),
            *(ref, c.key_id, c.prev_hash, c.hash),
        ]
        joined = func.concat_ws(literal(SEP, String), *fields, type_=String)
        return select(joined).where(*where).order_by(c.seq)
    raw_at = type_coerce(c.at, String)
    fields = [
        *(c.seq, raw_at, c.actor, c.actor_name, c.action, c.target, c.params, c.outcome),
        *(c.ref, c.key_id, c.prev_hash, c.hash),
    ]
    return select(*fields).where(*where).order_by(c.seq)


@functools.lru_cache(maxsize=32)
def _compiled(dialect: Dialect, bounded_below: bool, bounded_above: bool) -> SQLCompiler:
    # Compiled once per shape: verify runs often on small tables (in tests, thousands of
    # times), where compiling the statement would cost more than checking the rows.
    where = []
    if bounded_below:
        where.append(LOG.c.seq >= bindparam("since", type_=BigInteger))
    if bounded_above:
        where.append(LOG.c.seq <= bindparam("until", type_=BigInteger))
    return fast_query(dialect.name, *where).compile(dialect=dialect)


@asynccontextmanager
async def fast_batches(
    conn: AsyncConnection, *, since: int | None, until: int | None, batch: int = 5000
) -> AsyncIterator[AsyncIterator[Sequence[Any]]]:
    """`fast_query`'s rows, a batch at a time, from the driver's own cursor.

    SQLAlchemy compiles the query (so its parameters stay bound), but the rows skip its
    result layer: building a `Row` per row is a sizeable share of verify's time. Same
    connection, same transaction: uncommitted changes of the caller are seen.
    """
    compiled = _compiled(conn.dialect, since is not None, until is not None)
    params = compiled.construct_params({"since": since, "until": until})
    driver: Any = (await conn.get_raw_connection()).driver_connection
    if conn.dialect.name == "postgresql":
        # A named (server-side) cursor: PostgreSQL sends a batch per FETCH.
        cursor = driver.cursor(name="watchkeeper_audit_verify")
        await cursor.execute(str(compiled), params)
    else:
        positions = compiled.positiontup or []
        cursor = await driver.execute(str(compiled), [params[p] for p in positions])

    ahead: asyncio.Future[Sequence[Any]] | None = None

    async def batches() -> AsyncIterator[Sequence[Any]]:
        # The next batch is asked for before this one is hashed: the database (its own
        # process, or the driver's thread) prepares it while this process computes.
        nonlocal ahead
        ahead = asyncio.ensure_future(cursor.fetchmany(batch))
        while rows := await ahead:
            ahead = asyncio.ensure_future(cursor.fetchmany(batch))
            await asyncio.sleep(0)
            yield rows

    try:
        yield batches()
    finally:
        if ahead is not None:
            # Let a fetch in flight finish: cancelling it mid-protocol can leave the
            # caller's connection (and transaction) unusable.
            with contextlib.suppress(Exception):
                await ahead
        await cursor.close()


class Cursor:
    """Where the walk stands: the next seq due and the hash it must link to."""

    __slots__ = ("checked", "expected", "prev", "stop")

    def __init__(self, expected: int, prev: str | None) -> None:
        self.expected = expected
        self.prev = prev
        self.checked = 0
        # The next seq with a checkpoint to compare (-1: none); the loop pauses there.
        self.stop = -1


def feed_sqlite(rows: Sequence[Any], cur: Cursor, keys: dict[str, ChainKey]) -> int:
    """Accept rows while they verify; returns the index of the first that does not (or
    of a checkpoint's row, left for `verify` to compare), else -1.

    `at` arrives as SQLite stores it: 'YYYY-MM-DD HH:MM:SS.ffffff'.
    """
    expected, prev, stop = cur.expected, cur.prev, cur.stop
    key_id: str | None = None
    new_inner = new_outer = None
    q = _quote
    for seq, at, actor, name, action, target, params, outcome, ref, kid, ph, h in rows:
        if kid != key_id:
            key = keys.get(kid)
            if key is None:
                break
            key_id, new_inner, new_outer = kid, key.inner_copy, key.outer_copy
        assert new_inner is not None and new_outer is not None
        if prev is None:
            prev = ph
        inner = new_inner()
        inner.update(
            f'{ph}{{"action":{q(action)},"actor":{q(actor)},"actor_name":{q(name)},'
            f'"at":"{at[:10]}T{at[11:]}Z","key_id":{q(kid)},"outcome":{q(outcome)},'
            f'"params":{params},"ref":{"null" if ref is None else q(ref)},"seq":{seq},'
            f'"target":{q(target)}}}'.encode()
        )
        outer = new_outer()
        outer.update(inner.digest())
        if seq != expected or ph != prev or outer.hexdigest() != h or seq == stop:
            break
        prev = h
        expected += 1
    return _advance(cur, expected, prev, len(rows))


def feed_postgresql(rows: Sequence[Any], cur: Cursor, keys: dict[str, ChainKey]) -> int:
    """As `feed_sqlite`, for rows of one U+001F-joined string with `at` already canonical."""
    expected, prev, stop = cur.expected, cur.prev, cur.stop
    key_id: str | None = None
    new_inner = new_outer = None
    q = _quote
    for (joined,) in rows:
        parts = joined.split(SEP)
        if len(parts) != 12:
            break
        seq_text, at, actor, name, action, target, params, outcome, ref, kid, ph, h = parts
        if kid != key_id:
            key = keys.get(kid)
            if key is None:
                break
            key_id, new_inner, new_outer = kid, key.inner_copy, key.outer_copy
        assert new_inner is not None and new_outer is not None
        if prev is None:
            prev = ph
        seq = int(seq_text)
        inner = new_inner()
        inner.update(
            f'{ph}{{"action":{q(action)},"actor":{q(actor)},"actor_name":{q(name)},'
            f'"at":"{at}","key_id":{q(kid)},"outcome":{q(outcome)},"params":{params},'
            f'"ref":{"null" if ref == _NO_REF else q(ref[1:])},"seq":{seq},'
            f'"target":{q(target)}}}'.encode()
        )
        outer = new_outer()
        outer.update(inner.digest())
        if seq != expected or ph != prev or outer.hexdigest() != h or seq == stop:
            break
        prev = h
        expected += 1
    return _advance(cur, expected, prev, len(rows))


def _advance(cur: Cursor, expected: int, prev: str | None, count: int) -> int:
    accepted = expected - cur.expected
    cur.checked += accepted
    cur.expected, cur.prev = expected, prev
    return -1 if accepted == count else accepted


def feed(rows: Sequence[Any], cur: Cursor, keys: dict[str, ChainKey], dialect: str) -> int:
    if dialect == "postgresql":
        return feed_postgresql(rows, cur, keys)
    return feed_sqlite(rows, cur, keys)
