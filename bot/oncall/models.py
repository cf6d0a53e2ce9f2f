"""Handoffs posted (one per rotation and shift, across replicas) and overrides set in Slack."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.models import Base, BigIntId
from bot.db.types import UTCDateTime


class Handoff(Base):
    __tablename__ = "oncall_handoffs"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    rotation: Mapped[str] = mapped_column(String(40))
    # The handoff time: the end of the shift summarised, the start of the next.
    shift_start: Mapped[datetime] = mapped_column(UTCDateTime())
    outgoing: Mapped[str] = mapped_column(String(40))
    incoming: Mapped[str] = mapped_column(String(40))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    late: Mapped[bool] = mapped_column(Boolean, default=False)

    # The exactly-once guarantee: a second replica's insert fails here.
    __table_args__ = (UniqueConstraint("rotation", "shift_start", name="uq_handoff_shift"),)


class OncallOverride(Base):
    __tablename__ = "oncall_overrides"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    rotation: Mapped[str] = mapped_column(String(40))
    user: Mapped[str] = mapped_column(String(40))
    start: Mapped[datetime] = mapped_column(UTCDateTime())
    end: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_oncall_overrides_rotation_end", "rotation", "end"),)
