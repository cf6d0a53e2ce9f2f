"""Shared pieces of the audit tests: a chain built through the real append API, keys, a
clock, and ways to tamper with the table the way someone with database access would.

(Named like a test module so it sits with its siblings; it holds no tests itself.)
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.audit import vocabulary as v
from bot.audit.actors import AUTOMATION, Actor
from bot.audit.hash_chain import KeyRing, row_text
from bot.audit.models import GENESIS_HASH, HEAD, LOG
from bot.audit.writer import NewEntry, append

KEY = "test-audit-key-0123456789"
OTHER_KEY = "someone-elses-key-9876543210"
KEYS = KeyRing.of([KEY])
START = datetime(2024, 5, 1, 3, 0, tzinfo=UTC)

ACTORS = [
    Actor.slack("UALICE01", "alice"),
    Actor.slack("UBOB0002", "bob"),
    AUTOMATION,
    Actor("cli:ops", "ops"),
    Actor.slack("UCAROL03", 'Carol "the auditor" Nguyễn'),
]
ACTIONS = [v.COMMAND_INVOKED, v.GUARD_DECIDED, v.APPROVAL_DECIDED, v.OPERATION_FINISHED]
OUTCOMES = [v.ACCEPTED, v.DENIED, v.APPROVED, v.SUCCEEDED, v.FAILED]


def stepping_clock(start: datetime = START, step: float = 1.5) -> Callable[[], datetime]:
    ticks = itertools.count()
    return lambda: start + timedelta(seconds=step * next(ticks))


def row_params(i: int) -> dict[str, Any]:
    """Varied parameters, so canonical JSON meets quotes, unicode, control characters."""
    params: dict[str, Any] = {"n": i, "args": [f"pg-orders-{i % 7}", "--force"]}
    if i % 3 == 0:
        params["reason"] = f'disk 9{i % 10}% full — "urgent"\n\ttab\\slash ✓'
    if i % 5 == 0:
        params["token"] = "xoxb-never-stored"
    if i % 11 == 0:
        params["nested"] = {"b": [1.5, None, True], "a": {"z": "ü", "é": 0}}
    return params


def varied_entry(i: int) -> NewEntry:
    """Row `i` of a varied chain: actors, actions, outcomes and refs in turn."""
    return NewEntry(
        actor=ACTORS[i % len(ACTORS)],
        action=ACTIONS[i % len(ACTIONS)],
        target=f"pg-orders-{i % 7}",
        params=row_params(i),
        outcome=OUTCOMES[i % len(OUTCOMES)],
        ref=None if i % 4 == 0 else f"op:{i}",
    )


async def append_rows(
    target: Any, count: int, *, first: int = 0, clock: Callable[[], datetime] | None = None
) -> None:
    """`count` rows through `append`, in the caller's transaction (`target` session/conn)."""
    tick = clock or stepping_clock()
    for i in range(first, first + count):
        e = varied_entry(i)
        await append(
            target, key=KEYS, actor=e.actor, action=e.action, target=e.target,
            params=e.params, outcome=e.outcome, ref=e.ref, clock=tick,
        )  # fmt: skip


async def allow_tampering(engine: AsyncEngine) -> None:
    """What an attacker with DDL rights does first: switch the append-only guard off."""
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER USER")
        else:
            await conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
            await conn.exec_driver_sql("DROP TRIGGER audit_log_no_delete")


# Tampering, inside the caller's transaction.


async def edit(conn: AsyncConnection, row: int, **values: Any) -> None:
    await conn.execute(update(LOG).where(LOG.c.seq == row).values(**values))


async def remove(conn: AsyncConnection, seq: int) -> None:
    await conn.execute(delete(LOG).where(LOG.c.seq == seq))


async def renumber(conn: AsyncConnection, above: int, by: int) -> None:
    """Shift every seq above `above` by `by`, in two steps so the primary key never clashes."""
    await conn.execute(update(LOG).where(LOG.c.seq > above).values(seq=-(LOG.c.seq + by)))
    await conn.execute(update(LOG).where(LOG.c.seq < 0).values(seq=-LOG.c.seq))


async def swap(conn: AsyncConnection, a: int, b: int) -> None:
    await edit(conn, a, seq=-1)
    await edit(conn, b, seq=a)
    await edit(conn, -1, seq=b)


async def forge(conn: AsyncConnection, seq: int, prev_hash: str, key: str = OTHER_KEY) -> None:
    """A made-up row, signed with a key that is not the chain's."""
    at = START
    values = {
        "seq": seq,
        "at": at,
        "actor": "UMALLORY9",
        "actor_name": "mallory",
        "action": v.APPROVAL_DECIDED,
        "target": "pg-billing",
        "params": "{}",
        "outcome": v.APPROVED,
        "ref": None,
        "key_id": KEYS.current.key_id,
        "prev_hash": prev_hash,
    }
    text = row_text(seq, "2024-05-01T03:00:00.000000Z", "UMALLORY9", "mallory",
                    v.APPROVAL_DECIDED, "pg-billing", "{}", v.APPROVED, None,
                    KEYS.current.key_id)  # fmt: skip
    values["hash"] = KeyRing.of([key]).current.mac(prev_hash, text)
    await conn.execute(insert(LOG).values(**values))


async def resign(conn: AsyncConnection, key: str, *, key_id: str | None = None) -> None:
    """Re-sign every row with `key`, as someone without the chain's key would have to."""
    signer = KeyRing.of([key]).current
    prev = GENESIS_HASH
    rows = (await conn.execute(select(LOG).order_by(LOG.c.seq))).all()
    for row in rows:
        kid = key_id or row.key_id
        at = row.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        text = row_text(row.seq, at, row.actor, row.actor_name, row.action, row.target,
                        row.params, row.outcome, row.ref, kid)  # fmt: skip
        digest = signer.mac(prev, text)
        await edit(conn, row.seq, key_id=kid, prev_hash=prev, hash=digest)
        prev = digest
    await conn.execute(update(HEAD).values(hash=prev))


async def cut_tail(conn: AsyncConnection, keep: int, *, reset_head: bool = True) -> None:
    await conn.execute(delete(LOG).where(LOG.c.seq > keep))
    if reset_head:
        last = await conn.scalar(select(LOG.c.hash).where(LOG.c.seq == keep))
        await conn.execute(update(HEAD).values(seq=keep, hash=last or GENESIS_HASH))
