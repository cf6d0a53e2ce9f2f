"""The audit tables: the append-only log and the one-row head that serializes appends.

`audit_log.seq` is assigned from `audit_head`, never by the database, so a transaction that
rolls back leaves no gap; the head row is also the lock every writer queues on, so several
replicas appending at once still build one chain.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String, Table, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.models import Base, BigIntId
from bot.db.types import UTCDateTime

GENESIS_HASH = "0" * 64
HEAD_ID = 1

# Column limits, checked before writing so SQLite and PostgreSQL refuse the same rows.
LIMITS = {
    "actor": 120,
    "actor_name": 200,
    "action": 80,
    "target": 300,
    "outcome": 40,
    "ref": 300,
}


class AuditEntry(Base):
    """One audited event; `hash` chains it to the row before (see `bot.audit.hash_chain`)."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(LIMITS["actor"]))
    actor_name: Mapped[str] = mapped_column(String(LIMITS["actor_name"]))
    action: Mapped[str] = mapped_column(String(LIMITS["action"]))
    target: Mapped[str] = mapped_column(String(LIMITS["target"]))
    params: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(LIMITS["outcome"]))
    ref: Mapped[str | None] = mapped_column(String(LIMITS["ref"]))
    key_id: Mapped[str] = mapped_column(String(16))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_actor_seq", "actor", "seq"),
        Index("ix_audit_log_target_seq", "target", "seq"),
    )


class AuditHead(Base):
    """The chain's newest `(seq, hash)`; exactly one row, `id = 1`, created by the migration."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (CheckConstraint(f"id = {HEAD_ID}", name="ck_audit_head_single_row"),)


# Core handles on the tables: appends and the verify stream use them, not ORM objects.
LOG = cast(Table, AuditEntry.__table__)
HEAD = cast(Table, AuditHead.__table__)


def _refuse_orm_write(_mapper: Any, _connection: Any, _target: Any) -> None:
    # An `AuditEntry` added to a session would skip the head lock and the hash; the row
    # would break the chain, so the ORM path is closed and `bot.audit.append` is the way.
    raise RuntimeError("write audit rows with bot.audit.append, not through the ORM")


for _event in ("before_insert", "before_update", "before_delete"):
    event.listen(AuditEntry, _event, _refuse_orm_write)
