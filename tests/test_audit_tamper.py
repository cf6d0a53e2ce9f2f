"""Tampering with a 1,000-row chain built through the real append API: every kind of change
someone with database access could make is caught by the real `verify`, naming the row.

The chain is built once per database (SQLite and PostgreSQL); each case changes the table
inside a transaction, runs `verify` on that same connection, and rolls back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.audit.checkpoint import publish_checkpoint
from bot.audit.hash_chain import KeyRing
from bot.audit.models import HEAD, LOG
from bot.audit.published import Checkpoint, read_published
from bot.audit.verifier import verify
from bot.config import parse_config
from bot.db.engine import create_engine, session_factory
from bot.db.migrate import upgrade
from tests.conftest import PG_ADMIN, base_config, drop_pg_database, fresh_pg_database
from tests.test_audit_support import (
    KEYS,
    OTHER_KEY,
    allow_tampering,
    append_rows,
    cut_tail,
    edit,
    forge,
    remove,
    renumber,
    resign,
    stepping_clock,
    swap,
)

ROWS = 1000
CHECKPOINTS_AT = (250, 500, 800)
SPREAD = (1, 2, 3, 137, 249, 250, 251, 500, 613, 798, 799, 800, 801, 998, 999, 1000)


@dataclass(frozen=True)
class Chain:
    url: str
    checkpoints: list[Checkpoint]


def _pg_url(name: str) -> str:
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}"


async def _build(url: str, checkpoint_file: Path) -> None:
    """1,000 rows in transactions of 25, with a checkpoint published at each CHECKPOINTS_AT."""
    engine = create_engine(url)
    raw = base_config(storage={"url": url})
    raw["audit"]["checkpoint_file"] = str(checkpoint_file)
    config = parse_config(raw, {})
    sessions = session_factory(engine)
    clock = stepping_clock()
    try:
        await upgrade(engine)
        for first in range(0, ROWS, 25):
            async with sessions() as session, session.begin():
                await append_rows(session, 25, first=first, clock=clock)
            if first + 25 in CHECKPOINTS_AT:
                await publish_checkpoint(sessions, config=config)
        await allow_tampering(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def chain(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Chain]:
    folder = tmp_path_factory.mktemp(f"chain-{request.param}")
    checkpoint_file = folder / "checkpoints.log"
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{folder}/chain.db"
        asyncio.run(_build(url, checkpoint_file))
        yield Chain(url, read_published(checkpoint_file))
        return
    name = fresh_pg_database(request.getfixturevalue("pg_template"))
    try:
        url = _pg_url(name)
        asyncio.run(_build(url, checkpoint_file))
        yield Chain(url, read_published(checkpoint_file))
    finally:
        drop_pg_database(name)


@pytest.fixture
async def engine(chain: Chain) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(chain.url)
    yield eng
    await eng.dispose()


Mutation = Callable[[AsyncConnection], Awaitable[None]]


@dataclass(frozen=True)
class Case:
    label: str
    mutate: Mutation
    seq: int | None  # the row verify must name; None: verify must pass
    kind: str | None = None


async def check_cases(
    engine: AsyncEngine,
    cases: Iterable[Case],
    *,
    keys: KeyRing = KEYS,
    checkpoints: list[Checkpoint] | None = None,
) -> int:
    """Run every case; fail once at the end, listing each case verify got wrong."""
    wrong: list[str] = []
    count = 0
    async with engine.connect() as conn:
        for case in cases:
            count += 1
            transaction = await conn.begin()
            try:
                await case.mutate(conn)
                report = await verify(conn, keys, checkpoints=checkpoints or [])
            finally:
                await transaction.rollback()
            got = None if report.problem is None else (report.problem.seq, report.problem.kind)
            want = None if case.seq is None else (case.seq, case.kind)
            if got != want:
                wrong.append(f"{case.label}: expected {want}, verify said {report.problem}")
        assert (await verify(conn, KEYS)).ok, "a case leaked out of its transaction"
    assert not wrong, f"{len(wrong)} of {count} cases wrong:\n" + "\n".join(wrong[:40])
    return count


def edit_case(row: int, label: str, **values: Any) -> Case:
    async def mutate(conn: AsyncConnection) -> None:
        await edit(conn, row, **values)

    return Case(f"edit {label} of row {row}", mutate, row, "edited")


async def test_the_untouched_chain_verifies_with_its_checkpoints(
    engine: AsyncEngine, chain: Chain
) -> None:
    assert [c.seq for c in chain.checkpoints] == list(CHECKPOINTS_AT)
    async with engine.connect() as conn:
        report = await verify(conn, KEYS, checkpoints=chain.checkpoints)
    assert report.ok, report.problem
    assert (report.rows_checked, report.first_seq, report.last_seq) == (ROWS, 1, ROWS)
    assert report.checkpoints_checked == len(CHECKPOINTS_AT)


async def test_editing_any_row_is_caught_at_that_row(engine: AsyncEngine) -> None:
    cases = [edit_case(seq, "outcome", outcome="tampered") for seq in range(1, ROWS + 1)]
    assert await check_cases(engine, cases) == ROWS


async def test_editing_any_field_is_caught_at_that_row(engine: AsyncEngine) -> None:
    async def shifted_at(seq: int) -> Any:
        async with engine.connect() as conn:
            at = await conn.scalar(select(LOG.c.at).where(LOG.c.seq == seq))
        return at + timedelta(microseconds=1)

    cases: list[Case] = []
    for seq in SPREAD:
        cases += [
            edit_case(seq, "at", at=await shifted_at(seq)),
            edit_case(seq, "actor", actor="UMALLORY9"),
            edit_case(seq, "actor_name", actor_name="mallory"),
            edit_case(seq, "action", action="nothing.happened"),
            edit_case(seq, "target", target="pg-elsewhere"),
            edit_case(seq, "params", params='{"n":-1}'),
            edit_case(seq, "params spacing", params=" {}"),
            edit_case(seq, "outcome", outcome="succeeded-ish"),
            edit_case(seq, "ref", ref="op:forged"),
            edit_case(seq, "key_id", key_id="0123456789abcdef"),
            edit_case(seq, "prev_hash", prev_hash="f" * 64),
            edit_case(seq, "hash", hash="e" * 64),
            edit_case(seq, "seq", seq=seq + 1_000_000),
        ]
    cases.append(edit_case(4, "ref (null to text)", ref="op:4"))  # row 4 has no ref
    cases.append(edit_case(2, "ref (text to null)", ref=None))
    cases.append(edit_case(1, "seq (to 0)", seq=0))
    cases.append(edit_case(137, "seq (to -5)", seq=-5))
    await check_cases(engine, cases)


async def test_deleting_any_row_is_caught_at_that_row(engine: AsyncEngine) -> None:
    def deleted(seq: int) -> Case:
        async def mutate(conn: AsyncConnection) -> None:
            await remove(conn, seq)

        return Case(f"delete row {seq}", mutate, seq, "missing")

    assert await check_cases(engine, [deleted(seq) for seq in range(1, ROWS + 1)]) == ROWS


async def test_deleting_rows_and_renumbering_the_rest_is_caught(engine: AsyncEngine) -> None:
    def hidden(seq: int, count: int) -> Case:
        async def mutate(conn: AsyncConnection) -> None:
            for _ in range(count):
                await remove(conn, seq)
                await renumber(conn, above=seq, by=-1)

        return Case(f"delete {count} at row {seq}, renumber", mutate, seq, "missing")

    cases = [hidden(seq, 1) for seq in SPREAD if seq < ROWS] + [hidden(seq, 3) for seq in (1, 500)]
    await check_cases(engine, cases)


async def test_swapping_two_rows_is_caught_at_the_first(engine: AsyncEngine) -> None:
    def swapped(a: int, b: int) -> Case:
        async def mutate(conn: AsyncConnection) -> None:
            await swap(conn, a, b)

        return Case(f"swap rows {a} and {b}", mutate, min(a, b), "reordered")

    pairs = [(seq, seq + 1) for seq in SPREAD if seq < ROWS]
    pairs += [(1, ROWS), (2, 500), (137, 613), (250, 800), (999, 3), (10, 12)]
    await check_cases(engine, [swapped(a, b) for a, b in pairs])


async def test_inserting_a_row_is_caught_at_that_row(engine: AsyncEngine) -> None:
    def inserted(seq: int) -> Case:
        async def mutate(conn: AsyncConnection) -> None:
            prev = await conn.scalar(select(LOG.c.hash).where(LOG.c.seq == seq - 1))
            await renumber(conn, above=seq - 1, by=1)
            await forge(conn, seq, prev or "0" * 64)

        return Case(f"insert a row at {seq}", mutate, seq, "inserted")

    async def at_the_end(conn: AsyncConnection) -> None:
        prev = await conn.scalar(select(LOG.c.hash).where(LOG.c.seq == ROWS))
        await forge(conn, ROWS + 1, str(prev))

    async def numbered_zero(conn: AsyncConnection) -> None:
        await forge(conn, 0, "0" * 64)

    cases = [inserted(seq) for seq in SPREAD]
    cases.append(Case("forge a row after the last", at_the_end, ROWS + 1, "inserted"))
    cases.append(Case("forge a row numbered 0", numbered_zero, 0, "inserted"))
    await check_cases(engine, cases)


async def test_re_signing_the_table_without_the_key_is_a_bad_key(engine: AsyncEngine) -> None:
    async def same_key_id(conn: AsyncConnection) -> None:
        await resign(conn, OTHER_KEY)

    async def own_key_id(conn: AsyncConnection) -> None:
        await resign(conn, OTHER_KEY, key_id=KeyRing.of([OTHER_KEY]).current.key_id)

    async def untouched(conn: AsyncConnection) -> None:
        return None

    await check_cases(
        engine,
        [
            Case("re-sign every row, keep key_id", same_key_id, 1, "bad key"),
            Case("re-sign every row with its own key_id", own_key_id, 1, "bad key"),
        ],
    )
    # The other way round: a verifier holding the wrong key.
    await check_cases(
        engine,
        [Case("verify with another key", untouched, 1, "bad key")],
        keys=KeyRing.of([OTHER_KEY]),
    )


async def test_cutting_the_tail_after_a_checkpoint_is_caught(
    engine: AsyncEngine, chain: Chain
) -> None:
    def cut(keep: int, *, reset_head: bool = True) -> Case:
        async def mutate(conn: AsyncConnection) -> None:
            await cut_tail(conn, keep, reset_head=reset_head)

        kind = "truncated" if reset_head else "missing"
        return Case(f"keep rows 1-{keep}, head reset {reset_head}", mutate, keep + 1, kind)

    async def cut_and_regrow(conn: AsyncConnection) -> None:
        await cut_tail(conn, 700)
        await append_rows(conn, 300, first=5000)

    cases = [cut(keep) for keep in (0, 1, 249, 250, 251, 499, 500, 501, 700, 799)]
    cases += [
        Case("cut after row 700 and append 300 new rows", cut_and_regrow, 501, "truncated"),
        # Past the last checkpoint, only the head can tell, and here it still does.
        cut(900, reset_head=False),
    ]
    await check_cases(engine, cases, checkpoints=chain.checkpoints)


async def test_without_checkpoints_a_clean_cut_goes_unseen(engine: AsyncEngine) -> None:
    """Why checkpoints are published: the remaining rows and a reset head verify."""

    async def clean_cut(conn: AsyncConnection) -> None:
        await cut_tail(conn, 600)

    async def head_forgotten(conn: AsyncConnection) -> None:
        await conn.execute(update(HEAD).values(seq=ROWS + 5))

    await check_cases(
        engine,
        [
            Case("cut after row 600, head reset, no checkpoints", clean_cut, None),
            Case("head moved past the last row", head_forgotten, ROWS + 1, "missing"),
        ],
    )
