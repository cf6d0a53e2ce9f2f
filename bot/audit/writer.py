"""The one way to write the audit log: `append`, inside the caller's own transaction.

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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.audit import vocabulary as v
from bot.audit.actors import Actor
from bot.audit.canonical import canonical_json, canonical_params, redact
from bot.audit.chain import ChainKey, KeyRing, at_text, row_text
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


def _check_lengths(fields: Mapping[str, str | None]) -> None:
    for name, value in fields.items():
        if value is not None and len(value) > LIMITS[name]:
            raise ValueError(f"audit {name} is longer than {LIMITS[name]} characters")


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
    signer = key.current if isinstance(key, KeyRing) else key
    params_text = canonical_params(params)
    _check_lengths(
        {
            "actor": actor.id,
            "actor_name": actor.name,
            "action": action,
            "target": target,
            "outcome": outcome,
            "ref": ref,
        }
    )
    bumped = await session.execute(
        update(HEAD)
        .where(HEAD.c.id == HEAD_ID)
        .values(seq=HEAD.c.seq + 1)
        .returning(HEAD.c.seq, HEAD.c.hash)
    )
    head = bumped.one_or_none()
    if head is None:
        raise AuditChainBroken("audit_head has no row; run `watchkeeper db upgrade`")
    seq, prev_hash = int(head[0]), str(head[1])
    # Read the clock under the lock, so `at` never runs backwards along `seq`.
    at = clock()
    text = row_text(
        seq, at_text(at), actor.id, actor.name, action, target, params_text, outcome, ref,
        signer.key_id,
    )
    record = AuditRecord(
        seq=seq,
        at=at,
        actor=actor.id,
        actor_name=actor.name,
        action=action,
        target=target,
        params=params_text,
        outcome=outcome,
        ref=ref,
        key_id=signer.key_id,
        prev_hash=prev_hash,
        hash=signer.mac(prev_hash, text),
    )
    await session.execute(update(HEAD).where(HEAD.c.id == HEAD_ID).values(hash=record.hash))
    await session.execute(insert(LOG).values(**record.__dict__))
    return record


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
