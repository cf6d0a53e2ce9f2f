"""The one way to write the audit log: `append` (`append_many` for several rows), inside
the caller's own transaction.

The row exists exactly when the caller's state change does: a rolled-back action leaves
no row and no gap, because `seq` comes from the head row updated in the same transaction.

Serialization: the first statement bumps the head row (`UPDATE ... RETURNING`). On
PostgreSQL that row lock queues every other replica's append until this transaction ends,
so each row links to the one committed before it; on SQLite it takes the database write
lock up front, so a deferred transaction never deadlocks upgrading a read lock. Either way
the lock is held until the caller commits: append late, and commit promptly (never await a
network call between `append` and the commit).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.audit import vocabulary as v
from bot.audit.actors import Actor
from bot.audit.canonical import canonical_json, canonical_params, redact
from bot.audit.hash_chain import ChainKey, KeyRing, at_text, row_text
from bot.audit.models import HEAD, HEAD_ID, LIMITS, LOG
from bot.clock import Clock, utcnow
from bot.config import Config


class AuditChainBroken(Exception):
    """The chain head is missing: the schema is not migrated, or someone deleted it."""


@dataclass(frozen=True)
class AuditRecord:
    """A row as written; `seq` is what thread messages cite ("audit #4711")."""

    seq: int
    at: datetime
    actor: str
    actor_name: str
    action: str
    target: str
    params: str
    outcome: str
    ref: str | None
    key_id: str
    prev_hash: str
    hash: str


@dataclass(frozen=True, kw_only=True)
class NewEntry:
    """One row to append, before it has a `seq`, a time or a hash (see `append_many`)."""

    actor: Actor
    action: str
    target: str
    outcome: str
    params: Mapping[str, Any] | None = None
    ref: str | None = None


def _check_lengths(fields: Mapping[str, str | None]) -> None:
    for name, value in fields.items():
        if value is not None and len(value) > LIMITS[name]:
            raise ValueError(f"audit {name} is longer than {LIMITS[name]} characters")


def _recordable(entry: NewEntry) -> tuple[NewEntry, str]:
    """The entry with its params redacted and canonical; raises if it cannot be recorded."""
    params_text = canonical_params(entry.params)
    _check_lengths(
        {
            "actor": entry.actor.id,
            "actor_name": entry.actor.name,
            "action": entry.action,
            "target": entry.target,
            "outcome": entry.outcome,
            "ref": entry.ref,
        }
    )
    return entry, params_text


async def append(
    session: AsyncSession | AsyncConnection,
    *,
    key: ChainKey | KeyRing,
    actor: Actor,
    action: str,
    target: str,
    params: Mapping[str, Any] | None = None,
    outcome: str,
    ref: str | None = None,
    clock: Clock = utcnow,
) -> AuditRecord:
    """Append one row to the chain in the caller's transaction; the caller commits.

    `params` are redacted and made canonical here; a value that cannot be recorded
    safely (an arbitrary object) raises `TypeError` before anything is locked.
    """
    entry = NewEntry(
        actor=actor, action=action, target=target, params=params, outcome=outcome, ref=ref
    )
    (record,) = await append_many(session, key=key, entries=[entry], clock=clock)
    return record


async def append_many(
    session: AsyncSession | AsyncConnection,
    *,
    key: ChainKey | KeyRing,
    entries: Sequence[NewEntry],
    clock: Clock = utcnow,
) -> list[AuditRecord]:
    """Append `entries` in order as consecutive rows, in the caller's transaction.

    The same rows as one `append` each, in four statements whatever their number: the
    head bumped by n, one INSERT of every row, the head's hash set. Every entry is
    checked first: one that cannot be recorded raises before anything is locked or
    written. One clock read serves the batch, so `at` still never runs backwards.
    """
    recordable = [_recordable(e) for e in entries]
    if not recordable:
        return []
    signer = key.current if isinstance(key, KeyRing) else key
    bumped = await session.execute(
        update(HEAD)
        .where(HEAD.c.id == HEAD_ID)
        .values(seq=HEAD.c.seq + len(recordable))
        .returning(HEAD.c.seq, HEAD.c.hash)
    )
    head = bumped.one_or_none()
    if head is None:
        raise AuditChainBroken("audit_head has no row; run `watchkeeper db upgrade`")
    last_seq, prev_hash = int(head[0]), str(head[1])
    # Read the clock under the lock, so `at` never runs backwards along `seq`.
    at = clock()
    stamp = at_text(at)
    records: list[AuditRecord] = []
    for seq, (entry, params_text) in enumerate(recordable, start=last_seq - len(recordable) + 1):
        actor = entry.actor
        text = row_text(
            seq, stamp, actor.id, actor.name, entry.action, entry.target, params_text,
            entry.outcome, entry.ref, signer.key_id,
        )  # fmt: skip
        record = AuditRecord(
            seq=seq,
            at=at,
            actor=actor.id,
            actor_name=actor.name,
            action=entry.action,
            target=entry.target,
            params=params_text,
            outcome=entry.outcome,
            ref=entry.ref,
            key_id=signer.key_id,
            prev_hash=prev_hash,
            hash=signer.mac(prev_hash, text),
        )
        records.append(record)
        prev_hash = record.hash
    await session.execute(update(HEAD).where(HEAD.c.id == HEAD_ID).values(hash=prev_hash))
    await session.execute(insert(LOG), [r.__dict__ for r in records])
    return records


def config_summary(config: Config) -> dict[str, Any]:
    """The loaded configuration as a reviewer may see it: every secret redacted."""
    summary = redact(config.model_dump(mode="json"))
    assert isinstance(summary, dict)
    return summary


async def record_config_loaded(
    session: AsyncSession | AsyncConnection,
    config: Config,
    actor: Actor,
    *,
    clock: Clock = utcnow,
) -> AuditRecord:
    """The `config.loaded` row written at start: who started the bot with which settings.

    `fingerprint` lets a reviewer see at a glance whether two starts ran the same config.
    """
    summary = config_summary(config)
    fingerprint = hashlib.sha256(canonical_json(summary).encode("utf-8")).hexdigest()[:16]
    return await append(
        session,
        key=KeyRing.from_config(config.audit),
        actor=actor,
        action=v.CONFIG_LOADED,
        target="config",
        params={"fingerprint": fingerprint, "config": summary},
        outcome=v.LOADED,
        clock=clock,
    )
