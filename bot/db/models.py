"""The ORM models of the foundation: Slack request dedupe, the outbox and posted messages.

Every piece of state that matters lives here, not in a process, so that several replicas
on one PostgreSQL behave like one bot.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.db.types import UTCDateTime

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for big tables.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class SlackRequest(Base):
    """One row per Slack delivery we handled, so a retry never runs a handler twice."""

    __tablename__ = "slack_requests"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutboxMessage(Base):
    """A Slack write waiting for delivery; written in the transaction of the state change.

    `lane` orders and paces delivery: rows of one lane go out one at a time, oldest first.
    `message_key` names the message a post creates so later rows can reply to it
    (`thread_key`) or edit it (`target_key`) before its `ts` is known.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    lane: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    message_key: Mapped[str | None] = mapped_column(String(200))
    target_key: Mapped[str | None] = mapped_column(String(200))
    thread_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        Index("ix_outbox_lane_status_id", "lane", "status", "id"),
        # The backlog's size and age, read by /metrics and the heartbeat (migration 0008).
        Index("ix_outbox_status_created", "status", "created_at"),
    )


class PostedMessage(Base):
    """Where a keyed message landed in Slack, for replies and in-place updates."""

    __tablename__ = "slack_messages"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    channel: Mapped[str] = mapped_column(String(40))
    ts: Mapped[str] = mapped_column(String(40))


class LaneLease(Base):
    """One sender per lane across replicas, and the lane's pace (next send time)."""

    __tablename__ = "outbox_lanes"

    lane: Mapped[str] = mapped_column(String(200), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_send_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LeaderLease(Base):
    """Who runs the scheduled jobs: one replica holds the lease and renews it."""

    __tablename__ = "leader_lease"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner: Mapped[str] = mapped_column(String(80))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
