"""The tables of bounded auto-remediation: one row per (runbook, page) decision, and the
kill switch.

`automation_runs` is UNIQUE on (runbook, page_id): a page re-delivered, seen by two
replicas or found again by the sweep is decided once. Every decision is taken in one
transaction that first locks the switch row, so two pages arriving together are counted
against the limits one after the other, never both against the same free slot.

    decided as:  untrusted · unconfirmed (the confirm step) ·
                 paused · limited · feedback · dry_run · suggested · refused
                 starting ─► running ─► succeeded | failed
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.models import Base, BigIntId
from bot.db.types import UTCDateTime

SWITCH_ID = 1
# A run holding a slot: it started and has not finished.
ACTIVE = ("starting", "running")
FINISHED = ("succeeded", "failed")
# Decisions that used up a run of the hourly budget: real runs, and pages taken as
# caused by automation's own earlier action.
COUNTED = (*ACTIVE, *FINISHED, "feedback")


class AutomationRun(Base):
    __tablename__ = "automation_runs"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    runbook: Mapped[str] = mapped_column(String(40))
    page_id: Mapped[int] = mapped_column(BigInteger)
    incident_id: Mapped[int] = mapped_column(BigInteger)
    service: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    params: Mapped[str] = mapped_column(Text)  # canonical JSON
    mode: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    # Why it ended where it did: the limit hit, the guard's refusal, the failure.
    detail: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("runbook", "page_id", name="uq_automation_runs_page"),
        Index("ix_automation_runs_service_decided", "service", "decided_at"),
        Index("ix_automation_runs_state", "state"),
    )


class AutomationSwitch(Base):
    """The one row of the kill switch; `resumed_at` also starts a new count of failures."""

    __tablename__ = "automation_switch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_by: Mapped[str | None] = mapped_column(String(40))
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(Text)
    resumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
